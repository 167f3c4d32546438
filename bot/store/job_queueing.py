"""Keeping PostgreSQL's shared queue in step with the jobs: who waits, in which line.

``JobRepository`` calls these wherever a job starts or stops waiting (queued, handed back,
cancelled, moved to another speed class), in the same transaction, so no path can leave a
waiting job out of line (``bot.store.queue_state`` says why that is enough). SQLite keeps its
queue in the dispatcher's memory: nothing to do there.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.model import Job, SpeedMode
from bot.store.database import Transaction, marks
from bot.store.queue_state import QueueState


async def stopped_waiting(tx: Transaction, gone: Sequence[tuple[SpeedMode, Job]]) -> None:
    """These jobs left their class's line unstarted (PostgreSQL: the shared queue's)."""
    if gone and tx.engine == "postgresql":
        await QueueState().leave(tx, [(speed, job.guild_id, job.user_id) for speed, job in gone])


async def waiting_again(tx: Transaction, jobs: Sequence[Job], *, handed_back: bool = False) -> None:
    """These jobs wait (again): on PostgreSQL, the shared queue's rings hold their places.

    ``handed_back``: they were claimed but never started, so they wait at the front.
    """
    if not jobs or tx.engine != "postgresql":
        return
    weights: dict[int, int] = {}
    if handed_back:
        rows = await tx.fetch_all(
            f"SELECT id, weight FROM jobs WHERE id IN ({marks(len(jobs))})",  # noqa: S608
            tuple(job.id for job in jobs),
        )
        weights = {int(row[0]): int(row[1]) for row in rows}
    await QueueState().activate(
        tx,
        [(job.speed, job.guild_id, job.user_id, weights.get(job.id, 0)) for job in jobs],
        front=handed_back,
    )
