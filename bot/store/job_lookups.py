"""Read-only job lookups: a parent's follow-ups, a member's jobs, a guild's queue, recovery's.

``JobRepository`` mixes this class in; the UI, the button presses and recovery read through it.

Live lookups say ``finished_at IS NULL`` to select the partial ``jobs_live_*`` indexes; a
parent's finished follow-ups come through ``jobs_children``, bounded by that parent.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.bulk import collector_paused
from bot.model import ACTIVE_STATES, Action, Job, JobState, SpeedMode
from bot.store.database import Transaction, marks
from bot.store.job_rows import (
    JOB_COLUMNS,
    PENDING_COLUMNS,
    WAITING_COLUMNS,
    PendingJob,
    WaitingJob,
    job_from_row,
    pending_from_row,
    waiting_from_rows,
)


class JobLookups:
    """Queries that read jobs and change nothing."""

    async def active_child(
        self, tx: Transaction, *, parent_id: int, action: Action, index: int
    ) -> Job | None:
        """The waiting or running follow-up of this parent with this action and index."""
        row = await tx.fetch_one(
            f"SELECT {JOB_COLUMNS} FROM jobs"  # noqa: S608 (constant column list, only ? marks)
            f" WHERE finished_at IS NULL AND state IN ({marks(len(ACTIVE_STATES))})"
            " AND parent_id = ? AND action = ? AND action_index = ? ORDER BY id LIMIT 1",
            (*(state.value for state in ACTIVE_STATES), parent_id, action.value, index),
        )
        return None if row is None else job_from_row(row)

    async def made_child(
        self, tx: Transaction, *, parent_id: int, action: Action, index: int
    ) -> Job | None:
        """The newest delivered follow-up of this parent with this action and index."""
        row = await tx.fetch_one(
            f"SELECT {JOB_COLUMNS} FROM jobs"  # noqa: S608 (constant column list)
            " WHERE state = ? AND parent_id = ? AND action = ? AND action_index = ?"
            " AND result_message_id IS NOT NULL ORDER BY id DESC LIMIT 1",
            (JobState.SUCCEEDED.value, parent_id, action.value, index),
        )
        return None if row is None else job_from_row(row)

    async def user_jobs(
        self, tx: Transaction, *, guild_id: int, user_id: int, active_only: bool, limit: int
    ) -> list[Job]:
        """A user's jobs in a guild, newest first."""
        if active_only:
            # The live index, then a sort of a few rows: ORDER BY id alone would walk the
            # member's whole history backwards looking for live jobs.
            rows = await tx.fetch_all(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE finished_at IS NULL"  # noqa: S608 (constant column list, only ? marks)
                f" AND guild_id = ? AND user_id = ? AND state IN ({marks(len(ACTIVE_STATES))})"
                " ORDER BY +id DESC LIMIT ?",
                (guild_id, user_id, *(state.value for state in ACTIVE_STATES), limit),
            )
        else:
            rows = await tx.fetch_all(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE guild_id = ? AND user_id = ?"  # noqa: S608 (constant column list)
                " ORDER BY id DESC LIMIT ?",
                (guild_id, user_id, limit),
            )
        return [job_from_row(row) for row in rows]

    async def guild_counts(
        self, tx: Transaction, *, guild_id: int
    ) -> dict[tuple[JobState, SpeedMode], int]:
        """Counts of a guild's unfinished jobs by state and speed."""
        rows = await tx.fetch_all(
            "SELECT state, speed, COUNT(*) FROM jobs WHERE finished_at IS NULL AND guild_id = ?"
            " AND state IN (?, ?, ?) GROUP BY state, speed",
            (guild_id, *(state.value for state in ACTIVE_STATES)),
        )
        return {(JobState(row[0]), SpeedMode(row[1])): int(row[2]) for row in rows}

    async def guild_waiting(self, tx: Transaction, *, guild_id: int, limit: int) -> list[Job]:
        """A guild's waiting jobs, oldest first."""
        rows = await tx.fetch_all(
            f"SELECT {JOB_COLUMNS} FROM jobs"  # noqa: S608 (constant column list)
            " WHERE finished_at IS NULL AND guild_id = ? AND state = ? ORDER BY +id LIMIT ?",
            (guild_id, JobState.QUEUED.value, limit),
        )
        return [job_from_row(row) for row in rows]

    async def count_waiting(
        self, tx: Transaction, *, guild_id: int, user_id: int
    ) -> tuple[int, int]:
        """How many jobs the user and the whole guild have waiting (queued)."""
        row = await tx.fetch_one(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN user_id = ? THEN 1 ELSE 0 END), 0)"
            " FROM jobs WHERE finished_at IS NULL AND guild_id = ? AND state = ?",
            (user_id, guild_id, JobState.QUEUED.value),
        )
        if row is None:
            return 0, 0
        return int(row[1]), int(row[0])

    async def submitted_at(self, tx: Transaction, job_ids: Sequence[int]) -> dict[int, float]:
        """When each of these ``submitting`` jobs was sent to the provider (its last change)."""
        if not job_ids:
            return {}
        rows = await tx.fetch_all(
            f"SELECT id, updated_at FROM jobs WHERE state = ? AND id IN ({marks(len(job_ids))})",  # noqa: S608 (only ? marks)
            (JobState.SUBMITTING.value, *job_ids),
        )
        return {int(row[0]): float(row[1]) for row in rows}

    async def unfinished(
        self, tx: Transaction, *, queued: bool = True
    ) -> tuple[list[WaitingJob], list[PendingJob]]:
        """Every job not in a terminal state, for recovery: the queued ones, then the rest.

        Both in id order. The queued ones are read in the order of their index (no sort)
        and as small tuples: a restart may find a hundred thousand of them. ``queued`` False:
        not those (the shared queue keeps them in the database).
        """
        waiting = []
        if queued:
            waiting = await tx.fetch_all(
                f"SELECT {WAITING_COLUMNS} FROM jobs"  # noqa: S608 (constant column list)
                " WHERE finished_at IS NULL AND state = ? ORDER BY id",
                (JobState.QUEUED.value,),
            )
        others = await tx.fetch_all(
            f"SELECT {PENDING_COLUMNS} FROM jobs"  # noqa: S608 (constant column list)
            " WHERE finished_at IS NULL AND state IN (?, ?) ORDER BY id",
            (JobState.SUBMITTING.value, JobState.RUNNING.value),
        )
        with collector_paused():
            found = waiting_from_rows(waiting)
        return found, [pending_from_row(row) for row in others]

    async def queued_after(self, tx: Transaction, after_id: int) -> list[PendingJob]:
        """Queued jobs newer than ``after_id``, in id order (new work since the last look)."""
        rows = await tx.fetch_all(
            f"SELECT {PENDING_COLUMNS} FROM jobs"  # noqa: S608 (constant column list)
            " WHERE finished_at IS NULL AND id > ? AND state = ? ORDER BY id",
            (after_id, JobState.QUEUED.value),
        )
        return [pending_from_row(row) for row in rows]
