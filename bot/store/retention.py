"""Retention in the store: which finished jobs are old enough to delete, and deleting them.

Every query here is bounded by the rows it removes, not by the history: job ids grow with
time, so the newest id created before the cut-off is found by a binary search over the
primary key, and the candidates are a primary-key range below it. A job is deleted only when
it is finished before the cut-off and no live job names it as parent; its settled quota
reservation goes with it (the ledger keeps the credit movements).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.model import JobState
from bot.store.database import Transaction, marks

_CANDIDATES = (
    "SELECT id FROM jobs WHERE id <= ? AND finished_at < ?"
    " AND NOT EXISTS (SELECT 1 FROM jobs AS child"
    " WHERE child.finished_at IS NULL AND child.parent_id = jobs.id)"
)


@dataclass(frozen=True, slots=True)
class StorageReport:
    """The database at a glance, for ``python -m bot storage``."""

    size_bytes: int
    free_bytes: int
    jobs_by_state: dict[str, int]
    ledger_entries: int
    prunable_jobs: int
    """Jobs the next pruning pass would delete."""
    rollup_entries: int = 0
    """Per-job ledger entries of closed periods the next pass would roll up."""
    rollup_rows: int = 0
    """The roll-up rows (one per member and period) they would become."""


class RetentionRepository:
    """Finds and deletes expired jobs inside a caller's transaction."""

    async def last_id_before(self, tx: Transaction, cutoff: float) -> int:
        """The highest job id created before ``cutoff`` (0: none), in O(log n) key look-ups.

        Never the newest job: it stays, so that a missing id below it reads as expired.
        """
        newest = int(await tx.fetch_value("SELECT COALESCE(MAX(id), 0) FROM jobs"))
        low, high = 0, newest - 1
        while low < high:
            middle = (low + high + 1) // 2
            row = await tx.fetch_one(
                "SELECT id, created_at FROM jobs WHERE id >= ? ORDER BY id LIMIT 1", (middle,)
            )
            if row is not None and row[0] <= high and row[1] < cutoff:
                low = int(row[0])
            else:
                high = middle - 1
        return low

    async def prune(self, tx: Transaction, *, cutoff: float, limit: int) -> list[int]:
        """Delete up to ``limit`` expired jobs (never live, never a live job's parent)."""
        upper = await self.last_id_before(tx, cutoff)
        if not upper:
            return []
        rows = await tx.fetch_all(f"{_CANDIDATES} ORDER BY id LIMIT ?", (upper, cutoff, limit))
        ids = [int(row[0]) for row in rows]
        if ids:
            await tx.execute(f"DELETE FROM jobs WHERE id IN ({marks(len(ids))})", ids)  # noqa: S608 (only ? marks)
            await tx.execute(
                "DELETE FROM quota_reservations WHERE state <> ?"  # noqa: S608 (only ? marks)
                f" AND job_id IN ({marks(len(ids))})",
                ("reserved", *ids),
            )
        return ids

    async def count_prunable(self, tx: Transaction, *, cutoff: float) -> int:
        """How many jobs a pruning pass at ``cutoff`` would delete."""
        upper = await self.last_id_before(tx, cutoff)
        if not upper:
            return 0
        return int(
            await tx.fetch_value(
                f"SELECT COUNT(*) FROM ({_CANDIDATES}) AS expired",  # noqa: S608 (constant)
                (upper, cutoff),
            )
        )

    async def vacuum(self, tx: Transaction, pages: int) -> int:
        """Return up to ``pages`` free pages to the file system (incremental vacuum).

        SQLite only: PostgreSQL's autovacuum makes deleted rows' space reusable on its own
        (and VACUUM cannot run inside a transaction), so there it returns 0.
        """
        if tx.engine != "sqlite":
            return 0
        before = int(await tx.fetch_value("PRAGMA freelist_count"))
        await tx.fetch_all(f"PRAGMA incremental_vacuum({int(pages)})")
        return before - int(await tx.fetch_value("PRAGMA freelist_count"))

    async def report(self, tx: Transaction, *, cutoff: float) -> StorageReport:
        """Size, free space, jobs by state, ledger entries and what the next prune removes."""
        size, free = await _size_and_free(tx)
        rows = await tx.fetch_all("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        by_state = {state.value: 0 for state in JobState}
        by_state.update({str(row[0]): int(row[1]) for row in rows})
        return StorageReport(
            size_bytes=size,
            free_bytes=free,
            jobs_by_state=by_state,
            ledger_entries=int(await tx.fetch_value("SELECT COUNT(*) FROM quota_ledger")),
            prunable_jobs=await self.count_prunable(tx, cutoff=cutoff),
        )


async def _size_and_free(tx: Transaction) -> tuple[int, int]:
    """The database's size in bytes and how much of it is free (PostgreSQL: its tables)."""
    if tx.engine == "sqlite":
        page_size = int(await tx.fetch_value("PRAGMA page_size"))
        pages = int(await tx.fetch_value("PRAGMA page_count"))
        free = int(await tx.fetch_value("PRAGMA freelist_count"))
        return pages * page_size, free * page_size
    # Tables with their indexes and TOAST in this schema; free space inside them is
    # PostgreSQL's to reuse and not reported.
    size = await tx.fetch_value(
        "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class AS c"
        " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind = 'r'"
    )
    return int(size), 0
