"""The job repository: rows in, frozen ``Job`` models out, transitions as conditional UPDATEs.

Every state change is ``UPDATE ... WHERE id = ? AND state = ? RETURNING ...``: the row comes
back only when this caller won the change, so two dispatchers (or a dispatcher and a cancel)
never both act on one job. Only the store (this module, ``job_rows``, ``job_lookups``,
``job_owners``, ``job_queueing``) knows the ``jobs`` table.

Queries about live work say ``finished_at IS NULL`` (true exactly for the non-terminal states):
it selects the partial ``jobs_live_*`` indexes, whose size is the live work, not the history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.model import Job, JobState, SpeedMode, check_transition
from bot.store.database import Transaction, marks
from bot.store.job_lookups import JobLookups
from bot.store.job_owners import JobOwners
from bot.store.job_queueing import stopped_waiting, waiting_again
from bot.store.job_rows import (
    INSERT_COLUMNS,
    INSERT_ROW,
    JOB_COLUMNS,
    NewJob,
    PendingJob,
    WaitingJob,
    encode_column,
    insert_values,
    job_from_row,
)

__all__ = [
    "CANCELLED_JOBS_CHANNEL",
    "NEW_JOBS_CHANNEL",
    "JobRepository",
    "NewJob",
    "PendingJob",
    "WaitingJob",
    "job_from_row",
]

# Columns a transition may set besides state, with their SQL types; the SET clause is built
# only from these names. The types let a per-job CASE cast its parameters, which PostgreSQL
# would otherwise read as text.
# CAST targets that mean the same in SQLite (by affinity) and PostgreSQL: Discord ids need 64
# bits (INTEGER is 32 there) and epoch seconds need a double (REAL is 4 bytes there). The
# packed JSON columns are bytes (BYTEA there).
_SETTABLE: dict[str, str] = {
    "provider_task_id": "TEXT",
    "provider_buttons": "BLOB",
    "progress": "BIGINT",
    "preview_url": "TEXT",
    "result_message_id": "BIGINT",
    "result_urls": "BLOB",
    "failure_kind": "TEXT",
    "failure_message": "TEXT",
    "queue_position": "BIGINT",
    "started_at": "DOUBLE PRECISION",
    "owner": "TEXT",
    "endpoint": "TEXT",
}
NEW_JOBS_CHANNEL = "tessera_new_jobs"
"""Notified (payload empty) in every transaction that queues jobs: wakes other processes'
dispatchers (PostgreSQL; the one in this process is woken directly)."""
CANCELLED_JOBS_CHANNEL = "tessera_cancelled_jobs"
"""Notified with the job id when a job is cancelled: the dispatching process stops its task."""

# 17 values a row: a chunk stays far below SQLite's and PostgreSQL's parameter limits.
_INSERT_CHUNK = 200


def _assigned(fields: Mapping[str, Any]) -> list[tuple[str, list[Any]]]:
    """``column = ?`` with its stored value, for each of the columns a transition sets."""
    return [(f"{column} = ?", [encode_column(column, value)]) for column, value in fields.items()]


def _check_settable(columns: set[str]) -> None:
    unknown = columns - _SETTABLE.keys()
    if unknown:
        raise ValueError(f"not a settable job column: {sorted(unknown)}")


class JobRepository(JobLookups, JobOwners):
    """Reads and writes ``jobs`` inside a caller's transaction."""

    async def insert(self, tx: Transaction, job: NewJob, *, now: float) -> Job:
        """Store a new queued job."""
        return (await self.insert_many(tx, [job], now=now))[0]

    async def insert_many(
        self, tx: Transaction, jobs: Sequence[NewJob], *, now: float
    ) -> list[Job]:
        """Store new queued jobs, in the given order, one multi-row INSERT per chunk."""
        if jobs:
            await tx.notify(NEW_JOBS_CHANNEL)
        stored: list[Job] = []
        for first in range(0, len(jobs), _INSERT_CHUNK):
            chunk = jobs[first : first + _INSERT_CHUNK]
            rows = await tx.fetch_all(
                f"INSERT INTO jobs ({INSERT_COLUMNS}) VALUES "  # noqa: S608 (only ? marks)
                + ", ".join([INSERT_ROW] * len(chunk))
                + f" RETURNING {JOB_COLUMNS}",
                tuple(value for job in chunk for value in insert_values(job, now)),
            )
            # RETURNING promises no order; ids grow in VALUES order, so sorting restores it.
            stored.extend(sorted((job_from_row(row) for row in rows), key=lambda job: job.id))
        await waiting_again(tx, stored)
        return stored

    async def set_speed(
        self, tx: Transaction, job_id: int, *, speed: SpeedMode, cost: int, prompt: str
    ) -> Job | None:
        """Change a queued job's speed class, cost and text (the automatic fall-back to relax)."""
        row = await tx.fetch_one(
            "UPDATE jobs SET speed = ?, cost = ?, prompt = ? WHERE id = ? AND state = ?"  # noqa: S608 (constant column list)
            f" RETURNING {JOB_COLUMNS}",
            (speed.value, cost, prompt, job_id, JobState.QUEUED.value),
        )
        if row is None:
            return None
        job = job_from_row(row)
        await waiting_again(tx, [job])  # in its new class's line now
        await stopped_waiting(tx, [(other, job) for other in SpeedMode if other is not speed])
        return job

    async def get(self, tx: Transaction, job_id: int) -> Job | None:
        """One job, or None."""
        row = await tx.fetch_one(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?",  # noqa: S608 (constant column list)
            (job_id,),
        )
        return None if row is None else job_from_row(row)

    async def newest_id(self, tx: Transaction) -> int:
        """The highest job id stored (0 with no jobs): ids below it that are gone were pruned."""
        return int(await tx.fetch_value("SELECT COALESCE(MAX(id), 0) FROM jobs"))

    async def get_many(self, tx: Transaction, job_ids: Sequence[int]) -> list[Job]:
        """These jobs, in id order (missing ids are skipped)."""
        if not job_ids:
            return []
        rows = await tx.fetch_all(
            f"SELECT {JOB_COLUMNS} FROM jobs"  # noqa: S608 (constant column list, only ? marks)
            f" WHERE id IN ({marks(len(job_ids))}) ORDER BY id",
            tuple(job_ids),
        )
        return [job_from_row(row) for row in rows]

    async def transition(
        self,
        tx: Transaction,
        job_id: int,
        source: JobState,
        target: JobState,
        *,
        now: float,
        bump_attempts: bool = False,
        **fields: Any,
    ) -> Job | None:
        """Move a job from ``source`` to ``target``; None when it was not in ``source``."""
        jobs = await self.transition_many(
            tx, [job_id], source, target, now=now, bump_attempts=bump_attempts, **fields
        )
        return jobs[0] if jobs else None

    async def transition_many(
        self,
        tx: Transaction,
        job_ids: Sequence[int],
        source: JobState,
        target: JobState,
        *,
        now: float,
        bump_attempts: bool = False,
        **fields: Any,
    ) -> list[Job]:
        """Move every listed job still in ``source`` to ``target``; the jobs that moved."""
        return await self._move(
            tx,
            job_ids,
            source,
            target,
            now,
            set(fields),
            _assigned(fields),
            bump_attempts=bump_attempts,
        )

    async def claim_many(
        self,
        tx: Transaction,
        job_ids: Sequence[int],
        *,
        now: float,
        fields: Mapping[str, Any],
        first: tuple[str, Sequence[Any]] | None = None,
    ) -> list[Job]:
        """``transition_many`` queued -> submitting, counting an attempt, setting ``fields``.

        ``first``: ``WITH`` clauses (SQL, parameters) run before in the same statement (the
        shared queue's write-back: one round trip for both).
        """
        return await self._move(
            tx,
            job_ids,
            JobState.QUEUED,
            JobState.SUBMITTING,
            now,
            set(fields),
            _assigned(fields),
            bump_attempts=True,
            first=first,
        )

    async def transition_each(
        self,
        tx: Transaction,
        fields_by_job: Mapping[int, Mapping[str, Any]],
        source: JobState,
        target: JobState,
        *,
        now: float,
    ) -> list[Job]:
        """``transition_many`` with each job's own values for the same columns, in one UPDATE."""
        job_ids = list(fields_by_job)
        columns = {column for fields in fields_by_job.values() for column in fields}
        if any(set(fields) != columns for fields in fields_by_job.values()):
            raise ValueError("every job must set the same columns")
        _check_settable(columns)
        assignments = [
            (
                f"{column} = CASE id"
                f" {' '.join(f'WHEN ? THEN CAST(? AS {_SETTABLE[column]})' for _ in job_ids)} END",
                [
                    item
                    for job_id, fields in fields_by_job.items()
                    for item in (job_id, encode_column(column, fields[column]))
                ],
            )
            for column in sorted(columns)
        ]
        return await self._move(tx, job_ids, source, target, now, columns, assignments)

    async def _move(
        self,
        tx: Transaction,
        job_ids: Sequence[int],
        source: JobState,
        target: JobState,
        now: float,
        columns: set[str],
        assignments: list[tuple[str, list[Any]]],
        *,
        bump_attempts: bool = False,
        first: tuple[str, Sequence[Any]] | None = None,
    ) -> list[Job]:
        check_transition(source, target)
        if not job_ids:
            return []
        _check_settable(columns)
        sets = ["state = ?", "updated_at = ?"]
        values: list[Any] = [target.value, now]
        if target.terminal:
            sets.append("finished_at = ?")
            values.append(now)
        if bump_attempts:
            sets.append("attempts = attempts + 1")
        for assignment, assigned in assignments:
            sets.append(assignment)
            values.extend(assigned)
        sql = (
            f"UPDATE jobs SET {', '.join(sets)}"  # noqa: S608 (column names from _SETTABLE)
            f" WHERE state = ? AND id IN ({marks(len(job_ids))}) RETURNING {JOB_COLUMNS}"
        )
        params: tuple[Any, ...] = (*values, source.value, *job_ids)
        if first is not None:
            sql, params = f"{first[0]} {sql}", (*first[1], *params)
        rows = await tx.fetch_all(sql, params)
        moved = sorted((job_from_row(row) for row in rows), key=lambda job: job.id)
        if target is JobState.QUEUED:
            await waiting_again(tx, moved, handed_back=source is JobState.SUBMITTING)
        elif source is JobState.QUEUED and target is not JobState.SUBMITTING:
            await stopped_waiting(tx, [(job.speed, job) for job in moved])
        return moved

    async def start(
        self,
        tx: Transaction,
        job_id: int,
        *,
        task_id: str,
        now: float,
        queue_position: int | None = None,
    ) -> Job | None:
        """The provider took a submitting job as ``task_id``; None when it moved on."""
        started = await self.start_many(tx, {job_id: (task_id, queue_position)}, now=now)
        return started[0] if started else None

    async def start_many(
        self, tx: Transaction, tasks: Mapping[int, tuple[str, int | None]], *, now: float
    ) -> list[Job]:
        """``start`` for several jobs (job id: task id and queue position); those that moved."""
        return await self.transition_each(
            tx,
            {
                job_id: {
                    "provider_task_id": task_id,
                    "started_at": now,
                    "queue_position": position,
                }
                for job_id, (task_id, position) in tasks.items()
            },
            JobState.SUBMITTING,
            JobState.RUNNING,
            now=now,
        )

    async def update_running(
        self,
        tx: Transaction,
        job_id: int,
        *,
        now: float,
        progress: int,
        preview_url: str | None,
        queue_position: int | None,
    ) -> Job | None:
        """Record a running job's progress; None when it is no longer running."""
        row = await tx.fetch_one(
            "UPDATE jobs SET progress = ?, preview_url = ?, queue_position = ?, updated_at = ?"  # noqa: S608 (constant column list)
            f" WHERE id = ? AND state = ? RETURNING {JOB_COLUMNS}",
            (progress, preview_url, queue_position, now, job_id, JobState.RUNNING.value),
        )
        return None if row is None else job_from_row(row)

    async def replace_task(
        self, tx: Transaction, job_id: int, *, old_task_id: str, new_task_id: str, now: float
    ) -> Job | None:
        """Point a running job at a resubmitted provider task; None when it moved on."""
        row = await tx.fetch_one(
            "UPDATE jobs SET provider_task_id = ?, progress = 0, preview_url = NULL,"  # noqa: S608 (constant column list)
            " attempts = attempts + 1, updated_at = ?"
            f" WHERE id = ? AND state = ? AND provider_task_id = ? RETURNING {JOB_COLUMNS}",
            (new_task_id, now, job_id, JobState.RUNNING.value, old_task_id),
        )
        return None if row is None else job_from_row(row)

    async def set_status_message(
        self, tx: Transaction, job_id: int, message_id: int | None
    ) -> bool:
        """Remember the job's public status message; False when the job does not exist."""
        changed = await tx.execute(
            "UPDATE jobs SET status_message_id = ? WHERE id = ?", (message_id, job_id)
        )
        return changed > 0
