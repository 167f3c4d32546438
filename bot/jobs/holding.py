"""Storing new jobs and holding their credits, with the server's relax fall-back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.errors import QuotaExceeded
from bot.model import Job, JobKind, SpeedMode
from bot.quota import CostModel, QuotaService
from bot.store.database import Transaction
from bot.store.guild_config import GuildConfig, RelaxPolicy
from bot.store.jobs import JobRepository, NewJob

RelaxText = Callable[[], str | None]
"""The job's text should it fall back to relax; None when the prompt cannot run in relax."""


class CreditHolder:
    """Inserts a submission's jobs and reserves their credits inside the caller's transaction."""

    def __init__(
        self,
        repo: JobRepository,
        quota: QuotaService,
        costs: CostModel,
        clock: Callable[[], float],
    ) -> None:
        self._repo = repo
        self._quota = quota
        self._costs = costs
        self._clock = clock

    def prices(self, kind: JobKind, speed: SpeedMode, params: dict[str, Any]) -> tuple[int, int]:
        """The job's cost, and its scheduling weight (the cost at fast speed)."""
        return self.cost(kind, speed, params), self.cost(kind, SpeedMode.FAST, params)

    def cost(self, kind: JobKind, speed: SpeedMode, params: dict[str, Any]) -> int:
        """The job's cost at ``speed``."""
        return self._costs.cost(
            kind.value,
            speed=speed,
            quality=float(params.get("quality") or 1.0),
            draft=bool(params.get("draft")),
            oref=bool(params.get("oref")),
        )

    async def queue_all(
        self,
        tx: Transaction,
        config: GuildConfig,
        role_ids: Sequence[int],
        built: Sequence[tuple[NewJob, RelaxText]],
    ) -> list[Job]:
        """Insert one submission's jobs together and hold their credits all at once."""
        jobs = await self._repo.insert_many(tx, [new for new, _ in built], now=self._clock())
        if len(jobs) > 1:
            try:
                await self._quota.reserve_many(
                    tx,
                    guild_id=jobs[0].guild_id,
                    user_id=jobs[0].user_id,
                    role_ids=role_ids,
                    amounts={job.id: new.cost for job, (new, _) in zip(jobs, built, strict=True)},
                )
            except QuotaExceeded:
                # The refusal held nothing. Job by job, those that fit stay fast and the
                # relax policy decides for the rest, as for a single job.
                pass
            else:
                return jobs
        return [
            await self._hold(tx, config, role_ids, job, *pair)
            for job, pair in zip(jobs, built, strict=True)
        ]

    async def queue(
        self,
        tx: Transaction,
        config: GuildConfig,
        role_ids: Sequence[int],
        new: NewJob,
        relax_text: RelaxText,
    ) -> Job:
        """Insert one job and hold its credits."""
        job = await self._repo.insert(tx, new, now=self._clock())
        return await self._hold(tx, config, role_ids, job, new, relax_text)

    async def _hold(
        self,
        tx: Transaction,
        config: GuildConfig,
        role_ids: Sequence[int],
        job: Job,
        new: NewJob,
        relax_text: RelaxText,
    ) -> Job:
        """Reserve a stored job's credits, falling back to relax as the server's policy says."""
        try:
            await self._reserve(tx, job, role_ids, new.cost)
        except QuotaExceeded as exc:
            if new.speed is not SpeedMode.FAST or config.relax_policy is RelaxPolicy.DENY:
                raise
            if config.relax_policy is RelaxPolicy.OFFER:
                if relax_text() is None:
                    raise  # e.g. --oref: relax would be refused too, so do not offer it
                raise QuotaExceeded(
                    f"{exc.message} You can still queue it at no cost in relax mode: use /relax.",
                    needed=exc.needed,
                    available=exc.available,
                    scope=exc.scope,
                ) from exc
            text = relax_text()
            if text is None:
                raise
            cost = self.cost(new.kind, SpeedMode.RELAX, new.params)
            relaxed = await self._repo.set_speed(
                tx, job.id, speed=SpeedMode.RELAX, cost=cost, prompt=text
            )
            await self._reserve(tx, job, role_ids, cost)
            job = relaxed or job
        return job

    async def _reserve(
        self, tx: Transaction, job: Job, role_ids: Sequence[int], amount: int
    ) -> None:
        await self._quota.reserve(
            tx,
            guild_id=job.guild_id,
            user_id=job.user_id,
            role_ids=role_ids,
            job_id=job.id,
            amount=amount,
        )
