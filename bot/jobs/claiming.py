"""Claiming the jobs a dispatcher starts next: ``queued -> submitting``, owned by this process.

Two ways, by store. SQLite (and a dispatcher without a lease): this process's policy
(``bot.jobs.policy``) picks, and the claim checks the limits counted over every process. With
PostgreSQL: the queue every process shares (``bot.jobs.shared_queue``) picks and claims in
one transaction of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.jobs.entries import QueueEntry
from bot.jobs.parts import Parts
from bot.jobs.shared_queue import SharedQueue
from bot.model import Job, JobState
from bot.store.database import Transaction
from bot.store.jobs import JobRepository

Claimed = tuple[list[tuple[Job, QueueEntry]], dict[int, Job]]
"""The claimed jobs with their entries, and the parents the action jobs among them need."""


async def parents_of(repo: JobRepository, tx: Transaction, jobs: Sequence[Job]) -> dict[int, Job]:
    """The parent records the action jobs need, by id."""
    ids = sorted({job.parent_id for job in jobs if job.parent_id is not None})
    return {parent.id: parent for parent in await repo.get_many(tx, ids)}


class Claims:
    """Takes the jobs that start in this process's free slots."""

    def __init__(self, parts: Parts) -> None:
        self._p = parts

    async def take(self, now: float) -> Claimed | None:
        """Claim as many jobs as there are free slots; None when none could start."""
        shared = self._p.ownership.queue
        if shared is not None:
            return await self._shared(shared, now)
        return await self._own(now)

    async def _own(self, now: float) -> Claimed | None:
        """Pick from this process's policy, then claim those still waiting; None: none picked."""
        picked: list[QueueEntry] = []
        while len(picked) < self._p.slots.free and (entry := self._p.policy.pick(now)) is not None:
            picked.append(entry)
        if not picked:
            return None
        own = self._p.ownership
        async with self._p.db.transaction() as tx:
            if own.owner is not None:
                picked = await self._within_shared_limits(tx, picked)
            claimed = await self._p.repo.transition_many(
                tx,
                [entry.job_id for entry in picked],
                JobState.QUEUED,
                JobState.SUBMITTING,
                now=now,
                bump_attempts=True,
                **own.claim_fields(),
            )
            parents = await parents_of(self._p.repo, tx, claimed)
        if not picked:
            return None
        by_id = {job.id: job for job in claimed}
        pairs = []
        for entry in picked:
            if entry.job_id in by_id:
                pairs.append((by_id[entry.job_id], entry))
            else:
                self._p.policy.finish(entry.job_id)  # cancelled before it could start
        return pairs, parents

    async def _shared(self, shared: SharedQueue, now: float) -> Claimed | None:
        """Claim from the queue every process shares; None when nothing could start."""
        own = self._p.ownership
        free = self._p.slots.free
        if own.shared_endpoint is None:
            # This process's own model: only its own jobs run there.
            free = min(free, own.limit - len(self._p.slots))
        if free <= 0:
            return None
        # Not under the lock every other transaction takes: claims lock only the rows and
        # guilds they serve, so several processes claim at once.
        async with self._p.db.transaction(serialised=False) as tx:
            claimed = await shared.claim(
                tx,
                free,
                now=now,
                endpoint=own.shared_endpoint,
                limit=own.limit,
                fields=own.claim_fields(),
            )
            parents = await parents_of(self._p.repo, tx, [job for job, _ in claimed])
        if not claimed:
            return None
        for _, entry in claimed:
            self._p.policy.mark_running(entry)  # counted here too, freed with its slot
        return claimed, parents

    async def _within_shared_limits(
        self, tx: Transaction, picked: list[QueueEntry]
    ) -> list[QueueEntry]:
        """The picks that fit the limits counted over every process; the rest wait again.

        This process's policy counts only its own running jobs: the members' and guilds'
        running limits and the endpoint's slots are counted here, in the claim's transaction.
        """
        own = self._p.ownership
        members, guilds = await self._p.repo.running_counts(
            tx, sorted({entry.guild_id for entry in picked})
        )
        room = len(picked)
        if own.endpoint is not None:
            room = max(0, own.limit - await self._p.repo.in_flight_at(tx, own.endpoint))
        fitting: list[QueueEntry] = []
        for entry in picked:
            limits = self._p.policy.limits(entry.guild_id)
            member = (entry.guild_id, entry.user_id)
            full = (
                len(fitting) >= room
                or members.get(member, 0) >= limits.running_per_user
                or 0 < limits.running_per_guild <= guilds.get(entry.guild_id, 0)
            )
            if full:
                self._p.policy.requeue(entry.job_id)
                continue
            members[member] = members.get(member, 0) + 1
            guilds[entry.guild_id] = guilds.get(entry.guild_id, 0) + 1
            fitting.append(entry)
        return fitting
