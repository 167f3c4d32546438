"""The pruner: a background task that deletes expired jobs in small batches.

Each batch is one short transaction, so submissions and the dispatcher wait at most one
batch. Each pass also rolls up the ledger of closed budget periods (``bot.quota.rollup``)
when given the roll-up. After a pass that deleted anything, the freed pages go back to the
file system.
The clock and the sleep are injected: tests call ``prune_once`` and never wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bot.quota.rollup import LedgerRollup
from bot.settings import RetentionSettings
from bot.store.database import Database, Transaction
from bot.store.retention import RetentionRepository, StorageReport

log = logging.getLogger(__name__)
DAY = 86_400.0
_VACUUM_PAGES = 2_000
"""Pages freed per vacuum transaction (8 MB at 4 KB pages): short, like a batch."""


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What one pruning pass did."""

    jobs: int
    pages_freed: int
    ledger_entries: int = 0
    """Per-job ledger entries of closed periods rolled up."""


class Pruner:
    """Deletes finished jobs older than ``retention.job_days``; owns its background task."""

    def __init__(
        self,
        db: Database,
        settings: RetentionSettings,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rollup: LedgerRollup | None = None,
    ) -> None:
        self._db = db
        self._rollup = rollup
        self._settings = settings
        self._clock = clock
        self._sleep = sleep
        self._repo = RetentionRepository()
        self._task: asyncio.Task[None] | None = None

    def cutoff(self) -> float:
        """Jobs that finished before this epoch second are expired."""
        return self._clock() - self._settings.job_days * DAY

    async def prune_once(self) -> PruneReport:
        """Delete every expired job and roll up closed periods' ledger, then vacuum."""
        cutoff = self.cutoff()
        limit = self._settings.prune_batch
        total = 0
        while True:

            async def batch(tx: Transaction) -> int:
                return len(await self._repo.prune(tx, cutoff=cutoff, limit=limit))

            deleted = await self._db.run(batch)
            total += deleted
            if deleted < limit:
                break
        rolled = 0 if self._rollup is None else (await self._rollup.run_once()).entries
        freed = 0
        if total or rolled:
            while True:

                async def vacuum(tx: Transaction) -> int:
                    return await self._repo.vacuum(tx, _VACUUM_PAGES)

                step = await self._db.run(vacuum)
                freed += step
                if step < _VACUUM_PAGES:
                    break
            log.info(
                "pruned %d expired jobs, rolled up %d ledger entries, freed %d pages",
                total,
                rolled,
                freed,
            )
        return PruneReport(jobs=total, pages_freed=freed, ledger_entries=rolled)

    async def report(self) -> StorageReport:
        """The storage report, with what the next pass would delete and roll up."""
        async with self._db.transaction() as tx:
            report = await self._repo.report(tx, cutoff=self.cutoff())
        if self._rollup is None:
            return report
        pending = await self._rollup.pending()
        return replace(report, rollup_entries=pending.entries, rollup_rows=pending.members)

    def start(self) -> None:
        """Prune now and then every ``prune_interval`` seconds, until ``stop``."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="tessera-pruner")

    async def stop(self) -> None:
        """Cancel the background task and wait for it (a batch in flight still commits)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                await self.prune_once()
            except Exception:
                # A failed pass (a locked or full disk) is retried at the next interval.
                log.exception("pruning failed")
            await self._sleep(self._settings.prune_interval)
