"""Who dispatches which job, when several processes dispatch from one database.

``JobRepository`` mixes this class in. A claim sets a job's ``owner`` (the process) and
``endpoint`` (the provider it went to, whose slots are counted over every process); adoption
moves a silent process's jobs to another (``bot/jobs/adoption.py``). Every query here is
bounded by the owned and in-flight jobs (``jobs_live_owner``, ``jobs_live_state``,
``jobs_live_endpoint``), never by the queue: queued jobs are nobody's until claimed.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.model import JobState
from bot.store.database import Transaction, marks
from bot.store.job_rows import PENDING_COLUMNS, PendingJob, pending_from_row


class JobOwners:
    """The ownership and endpoint columns of ``jobs``."""

    async def live_owners(self, tx: Transaction) -> set[str | None]:
        """The owners of unfinished jobs; None if a job in flight has none (claimed unowned).

        Bounded by the owned and in-flight jobs, never by the queue: queued jobs have no
        owner until claimed (the live-owner index holds their NULLs, which are not read).
        """
        rows = await tx.fetch_all(
            "SELECT DISTINCT owner FROM jobs WHERE finished_at IS NULL AND owner IS NOT NULL"
        )
        owners: set[str | None] = {str(row[0]) for row in rows}
        unowned = await tx.fetch_value(
            "SELECT 1 FROM jobs WHERE finished_at IS NULL AND state IN (?, ?)"
            " AND owner IS NULL LIMIT 1",
            (JobState.SUBMITTING.value, JobState.RUNNING.value),
        )
        if unowned is not None:
            owners.add(None)
        return owners

    async def adopt(
        self, tx: Transaction, owner: str, previous: str | None, *, endpoint: str | None = None
    ) -> list[PendingJob]:
        """Make ``owner`` the owner of ``previous``'s unfinished jobs; those, in id order.

        ``previous`` None: the jobs in flight that no one owns (queued jobs are nobody's).
        A conditional UPDATE: of two processes adopting the same jobs, one gets them. Jobs
        still at a provider now count at ``endpoint``, the adopter's.
        """
        params: tuple[str | None, ...]
        if previous is None:
            match = "owner IS NULL AND state IN (?, ?)"
            params = (owner, endpoint, JobState.SUBMITTING.value, JobState.RUNNING.value)
        else:
            match, params = "owner = ?", (owner, endpoint, previous)
        rows = await tx.fetch_all(
            "UPDATE jobs SET owner = ?,"  # noqa: S608 (constant clauses, ? marks)
            " endpoint = CASE WHEN endpoint IS NULL THEN NULL ELSE CAST(? AS TEXT) END"
            f" WHERE finished_at IS NULL AND {match} RETURNING {PENDING_COLUMNS}",
            params,
        )
        return sorted((pending_from_row(row) for row in rows), key=lambda job: job.id)

    async def disown(self, tx: Transaction, owner: str, job_ids: Sequence[int]) -> int:
        """Give ``owner``'s unfinished jobs among ``job_ids`` up (owner NULL): adopted next."""
        if not job_ids:
            return 0
        return await tx.execute(
            f"UPDATE jobs SET owner = NULL WHERE owner = ? AND finished_at IS NULL"  # noqa: S608
            f" AND id IN ({marks(len(job_ids))})",
            (owner, *job_ids),
        )

    async def leave_provider(self, tx: Transaction, job_ids: Sequence[int]) -> None:
        """These jobs' tasks ended at the provider: they no longer take its slots."""
        if job_ids:
            await tx.execute(
                f"UPDATE jobs SET endpoint = NULL WHERE id IN ({marks(len(job_ids))})",  # noqa: S608
                tuple(job_ids),
            )

    async def running_counts(
        self, tx: Transaction, guild_ids: Sequence[int]
    ) -> tuple[dict[tuple[int, int], int], dict[int, int]]:
        """Jobs in flight per (guild, member) and per guild, over every process."""
        if not guild_ids:
            return {}, {}
        rows = await tx.fetch_all(
            "SELECT guild_id, user_id, COUNT(*) FROM jobs"  # noqa: S608 (only ? marks)
            f" WHERE finished_at IS NULL AND guild_id IN ({marks(len(guild_ids))})"
            " AND state IN (?, ?) GROUP BY guild_id, user_id",
            (*guild_ids, JobState.SUBMITTING.value, JobState.RUNNING.value),
        )
        members: dict[tuple[int, int], int] = {}
        guilds: dict[int, int] = {}
        for row in rows:
            guild, user, count = int(row[0]), int(row[1]), int(row[2])
            members[(guild, user)] = count
            guilds[guild] = guilds.get(guild, 0) + count
        return members, guilds

    async def in_flight_at(self, tx: Transaction, endpoint: str) -> int:
        """Jobs submitting or running at ``endpoint``, whichever process dispatches them."""
        return int(
            await tx.fetch_value(
                "SELECT COUNT(*) FROM jobs WHERE finished_at IS NULL AND endpoint = ?"
                " AND state IN (?, ?)",
                (endpoint, JobState.SUBMITTING.value, JobState.RUNNING.value),
            )
        )
