"""The job service: submit, press a button, cancel, look up (no discord; plain ids).

``submit`` and ``submit_action`` do everything in ONE transaction: guild checks, limits,
quota reservations and the inserts, so a refusal leaves nothing behind and two concurrent
submissions cannot both slip under a limit.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from bot.errors import AlreadyMade, JobNotFound, NotAllowed
from bot.jobs.admission import check_channel, check_speed, check_waiting, check_words, words_of
from bot.jobs.events import JobEvents
from bot.jobs.expiry import missing_job
from bot.jobs.holding import CreditHolder, RelaxText
from bot.jobs.speeds import (
    Preset,
    at_speed,
    preset_of,
    relaxed_text,
    seed_written,
    written_speed,
)
from bot.model import (
    Action,
    Job,
    JobEvent,
    JobKind,
    JobState,
    QueueOverview,
    SpeedMode,
    kind_of_action,
)
from bot.prompt import Prompt, parse_canonical
from bot.quota import CostModel, QuotaService
from bot.settings import SchedulerSettings
from bot.store.database import Database, Transaction
from bot.store.guild_config import GuildConfig, GuildConfigRepository
from bot.store.jobs import CANCELLED_JOBS_CHANNEL, JobRepository, NewJob
from bot.store.user_settings import UserSettingsRepository

MAX_SEED = 4_294_967_295
CANCEL_ATTEMPTS = 3
"""Reads of a job a claim moves on while it is being cancelled (queued, submitting, running)."""
SAME_IMAGE_ACTIONS = frozenset({Action.UPSCALE, Action.UPSCALE_SUBTLE, Action.UPSCALE_CREATIVE})
"""Actions whose image is fixed by the parent, the action and the index (and the seed):
pressed again after the result, they link to it rather than make and charge it again."""


class JobListener(Protocol):
    """The dispatcher, as the service tells it about new and cancelled jobs."""

    def wake(self) -> None:
        """New work is waiting."""
        ...

    async def job_cancelled(self, job: Job) -> None:
        """A job was cancelled: forget it, or stop its provider task."""
        ...


class JobService:
    """Creates, cancels and reads jobs; the dispatcher runs them."""

    def __init__(
        self,
        db: Database,
        quota: QuotaService,
        costs: CostModel,
        settings: SchedulerSettings,
        *,
        events: JobEvents,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        guild_config: GuildConfigRepository | None = None,
        user_settings: UserSettingsRepository | None = None,
        check_prompt: Callable[[Prompt], None] | None = None,
    ) -> None:
        self._db = db
        # The provider's own refusal (a version it has no model for), before anything is held.
        self._check_prompt = check_prompt
        self._quota = quota
        self._costs = costs
        self._settings = settings
        self._events = events
        self._clock = clock
        self._rng = rng or random.Random()
        self._guilds = guild_config or GuildConfigRepository(db, clock=clock)
        self._users = user_settings or UserSettingsRepository(db, clock=clock)
        self._repo = JobRepository()
        self._listeners: list[JobListener] = []
        self._holder = CreditHolder(self._repo, quota, costs, clock)

    @property
    def repository(self) -> JobRepository:
        """The job repository (the dispatcher shares it)."""
        return self._repo

    def attach(self, listener: JobListener) -> None:
        """Tell this listener (the dispatcher) about new and cancelled jobs."""
        self._listeners.append(listener)

    async def submit(
        self,
        *,
        guild_id: int,
        channel_id: int,
        user_id: int,
        role_ids: Sequence[int],
        prompts: Sequence[Prompt],
        speed: SpeedMode,
        parent_channel_id: int | None = None,
    ) -> list[Job]:
        """Queue one job per prompt, or refuse them all with a ``UserFacingError``.

        ``speed`` is the member's mode; a speed flag written in a prompt wins over it.
        """
        if not prompts:
            return []
        if self._check_prompt is not None:
            for prompt in prompts:
                self._check_prompt(prompt)

        async def queue(tx: Transaction) -> list[Job]:
            config = await self._guilds.get_in(tx, guild_id)
            check_channel(config, channel_id, parent_channel_id)
            for prompt in prompts:
                check_words(config, words_of(prompt))
            await check_waiting(tx, self._repo, config, self._settings, user_id, len(prompts))
            preset = await self._preset(tx, config, user_id, prompts)
            built = [
                self._new_imagine(guild_id, channel_id, user_id, prompt, speed, preset)
                for prompt in prompts
            ]
            for new, _ in built:
                check_speed(config, new.speed)
            return await self._holder.queue_all(tx, config, role_ids, built)

        # The hot path: the whole transaction in one trip to the database thread. Everything
        # it touches is its own or stateless (repositories, the cost table, the prompt).
        # Once there it finishes even if this caller is cancelled meanwhile, so what it
        # queued is announced when it commits, whoever is still waiting: no job goes unseen.
        return await self._db.run(queue, committed=self._announce)

    async def check_waiting_room(self, *, guild_id: int, user_id: int, count: int) -> None:
        """Raise ``LimitReached`` unless ``count`` more jobs may wait now (before confirming)."""
        async with self._db.transaction() as tx:
            config = await self._guilds.get_in(tx, guild_id)
            await check_waiting(tx, self._repo, config, self._settings, user_id, count)

    async def submit_action(
        self,
        *,
        parent_id: int,
        action: Action,
        index: int,
        user_id: int,
        role_ids: Sequence[int],
        channel_id: int,
        parent_channel_id: int | None = None,
    ) -> Job:
        """Queue a follow-up (a button press) on a finished job."""
        async with self._db.transaction() as tx:
            parent = await self._repo.get(tx, parent_id)
            if parent is None:
                raise await missing_job(tx, self._repo, parent_id)
            if parent.state is not JobState.SUCCEEDED:
                raise NotAllowed("That job has not finished yet; its buttons work once it has.")
            config = await self._guilds.get_in(tx, parent.guild_id)
            if config.button_policy == "owner" and user_id != parent.user_id:
                raise NotAllowed(
                    "In this server only the person who made a job can use its buttons."
                )
            check_channel(config, channel_id, parent_channel_id)
            check_words(config, parent.prompt)
            await self._refuse_same_image(tx, parent_id, action, index)
            await check_waiting(tx, self._repo, config, self._settings, user_id, 1)
            # A reroll draws a fresh seed unless one was written: a different request each
            # time, which the provider never answers with another job's task.
            fresh_seed = kind_of_action(action) is JobKind.REROLL and not parent.seed_explicit
            twin = (
                None
                if fresh_seed
                else await self._repo.active_child(
                    tx, parent_id=parent_id, action=action, index=index
                )
            )
            if twin is not None:
                # The provider would hand both the same task (code 21): one job per button.
                raise NotAllowed(f"That button was already pressed: job #{twin.id} is on it.")
            speed = await self._users.speed_in(tx, user_id)
            check_speed(config, speed)
            new, relax_text = self._new_action(parent, action, index, user_id, channel_id, speed)
            job = await self._holder.queue(tx, config, role_ids, new, relax_text)
        self._announce([job])
        return job

    async def _refuse_same_image(
        self, tx: Transaction, parent_id: int, action: Action, index: int
    ) -> None:
        """An upscale made before would be the same pixels (and the provider's same task)."""
        if action not in SAME_IMAGE_ACTIONS:
            return
        made = await self._repo.made_child(tx, parent_id=parent_id, action=action, index=index)
        if made is not None and made.result_message_id is not None:
            raise AlreadyMade(
                f"That image was already made as job #{made.id}.",
                job_id=made.id,
                guild_id=made.guild_id,
                channel_id=made.channel_id,
                message_id=made.result_message_id,
            )

    async def cancel(self, job_id: int, *, user_id: int, moderator: bool = False) -> Job:
        """Cancel a waiting or running job and refund it."""
        async with self._db.transaction() as tx:
            cancelled: Job | None = None
            # A claim (which on PostgreSQL does not wait for this transaction's lock) may move
            # the job on between the read and the change: read it again, then.
            for _ in range(CANCEL_ATTEMPTS):
                job = await self._repo.get(tx, job_id)
                if job is None or (job.user_id != user_id and not moderator):
                    raise JobNotFound(f"You have no job #{job_id}.")
                if job.state.terminal:
                    raise NotAllowed(f"Job #{job_id} has already finished ({job.state}).")
                who = "its owner" if job.user_id == user_id else "a moderator"
                cancelled = await self._repo.transition(
                    tx,
                    job_id,
                    job.state,
                    JobState.CANCELLED,
                    now=self._clock(),
                    failure_message=f"Cancelled by {who}.",
                )
                if cancelled is not None:
                    break
            if cancelled is None:
                raise NotAllowed(f"Job #{job_id} changed while cancelling; try again.")
            await self._quota.refund(tx, job_id=job_id, reason=f"cancelled by {who}")
            # The dispatcher may run in another process (PostgreSQL): it stops the task.
            await tx.notify(CANCELLED_JOBS_CHANNEL, str(job_id))
        self._events.publish(JobEvent(kind="cancelled", job=cancelled))
        for listener in self._listeners:
            await listener.job_cancelled(cancelled)
        return cancelled

    async def get(self, job_id: int) -> Job:
        """One job; ``JobNotFound`` when it does not exist."""
        async with self._db.transaction() as tx:
            job = await self._repo.get(tx, job_id)
            if job is None:
                raise await missing_job(tx, self._repo, job_id)
        return job

    async def set_status_message(self, job_id: int, message_id: int | None) -> None:
        """Remember the job's public status message."""
        async with self._db.transaction() as tx:
            if not await self._repo.set_status_message(tx, job_id, message_id):
                raise JobNotFound(f"Job #{job_id} does not exist.")

    async def user_jobs(
        self, *, guild_id: int, user_id: int, active_only: bool = True, limit: int = 20
    ) -> list[Job]:
        """A user's jobs in a guild, newest first."""
        async with self._db.transaction() as tx:
            return await self._repo.user_jobs(
                tx, guild_id=guild_id, user_id=user_id, active_only=active_only, limit=limit
            )

    async def queue_overview(self, *, guild_id: int, limit: int = 25) -> QueueOverview:
        """A guild's waiting and running jobs by speed, and its oldest waiting jobs."""
        async with self._db.transaction() as tx:
            counts = await self._repo.guild_counts(tx, guild_id=guild_id)
            waiting = await self._repo.guild_waiting(tx, guild_id=guild_id, limit=limit)
        by_state: dict[bool, dict[SpeedMode, int]] = {True: {}, False: {}}
        for (state, speed), number in counts.items():
            bucket = by_state[state is JobState.QUEUED]
            bucket[speed] = bucket.get(speed, 0) + number
        return QueueOverview(
            guild_id=guild_id,
            waiting_by_speed=by_state[True],
            running_by_speed=by_state[False],
            waiting=tuple(waiting),
        )

    # --- building and queueing ----------------------------------------------------------

    async def _preset(
        self, tx: Transaction, config: GuildConfig, user_id: int, prompts: Sequence[Prompt]
    ) -> Preset:
        """The speed and seed the default layers set; read only when a prompt has either."""
        if not any(p.params.speed or "seed" in p.explicit for p in prompts):
            return Preset()
        user = await self._users.get_in(tx, user_id)
        return preset_of([config.default_params, user.default_params], config.default_version)

    def _new_imagine(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        prompt: Prompt,
        mode: SpeedMode,
        preset: Preset,
    ) -> tuple[NewJob, RelaxText]:
        """The job, and how to write its text should it fall back to relax."""
        flag = written_speed(prompt, preset)
        job_speed = flag or mode
        seed_explicit = seed_written(prompt, preset)
        written_seed = prompt.params.seed
        seed = (
            written_seed
            if seed_explicit and written_seed is not None
            else self._rng.randint(0, MAX_SEED)
        )
        job_prompt = at_speed(prompt, None if flag else job_speed, seed=seed)
        dumped: dict[str, Any] = job_prompt.params.model_dump(mode="json")
        cost, weight = self._holder.prices(JobKind.IMAGINE, job_speed, dumped)

        def relax_text() -> str | None:
            # Checking the prompt in relax re-parses it: done only when the fall-back happens.
            return relaxed_text(job_prompt, flagged=flag is not None)

        new = NewJob(
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            kind=JobKind.IMAGINE,
            prompt=job_prompt.to_prompt(),
            params=dumped,
            seed=seed,
            seed_explicit=seed_explicit,
            speed=job_speed,
            cost=cost,
            weight=weight,
        )
        return new, relax_text

    def _new_action(
        self,
        parent: Job,
        action: Action,
        index: int,
        user_id: int,
        channel_id: int,
        speed: SpeedMode,
    ) -> tuple[NewJob, RelaxText]:
        """The follow-up at the presser's speed, checked against the parent's prompt."""
        kind = kind_of_action(action)
        seed = parent.seed
        if kind is JobKind.REROLL and not parent.seed_explicit:
            seed = self._rng.randint(0, MAX_SEED)
        prompt = at_speed(parse_canonical(parent.prompt), speed, seed=seed)
        params: dict[str, Any] = prompt.params.model_dump(mode="json")
        cost, weight = self._holder.prices(kind, speed, params)
        new = NewJob(
            guild_id=parent.guild_id,
            channel_id=channel_id,
            user_id=user_id,
            kind=kind,
            action=action,
            action_index=index,
            parent_id=parent.id,
            prompt=prompt.to_prompt(),
            params=params,
            seed=seed,
            seed_explicit=parent.seed_explicit,
            speed=speed,
            cost=cost,
            weight=weight,
        )
        return new, lambda: relaxed_text(prompt, flagged=False)

    def _announce(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            self._events.publish(JobEvent(kind="queued", job=job))
        for listener in self._listeners:
            listener.wake()
