"""One process's turn at dispatching: its lease, its dispatcher, adoption and retention.

``Runtime`` starts a ``DispatchDuty`` in every process whose role dispatches (``run``,
``worker``). ``run()`` takes the process's own lease (``worker:<name>``), claims jobs as their
owner at its provider endpoint, listens for new and cancelled jobs, starts the dispatcher
(whose recovery takes the orphaned jobs), retention, and the watch that adopts a silent
process's jobs, then renews the lease until it is lost (``LeaseLost``). ``close()`` stops the
adoption, the dispatcher (deliveries under way get their grace while the lease is still
renewed) and the renewals, and gives the lease up so that another process adopts at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from bot.jobs import Dispatcher
from bot.jobs.adoption import Adoption
from bot.jobs.lease import DispatchLease, LeaseLost, process_name, worker_lease_name
from bot.jobs.parts import LOCAL_ENDPOINT
from bot.jobs.retention import Pruner
from bot.quota.rollup import LedgerRollup
from bot.settings import Settings
from bot.store.database import Database
from bot.store.jobs import CANCELLED_JOBS_CHANNEL, NEW_JOBS_CHANNEL

log = logging.getLogger(__name__)


class DispatchDuty:
    """Dispatching in this process, beside the others on the same database."""

    def __init__(
        self,
        database: Database,
        dispatcher: Dispatcher,
        settings: Settings,
        *,
        role: str,
        start_provider: Callable[[], None],
        started: asyncio.Event,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = database
        self._dispatcher = dispatcher
        self._settings = settings
        self._start_provider = start_provider
        self._started = started
        self._clock = clock
        self.holder = process_name(role)
        self.lease = DispatchLease(
            database,
            self.holder,
            name=worker_lease_name(self.holder),
            duration=settings.scheduler.lease_seconds,
        )
        self._adoption: asyncio.Task[None] | None = None
        self._pruner: Pruner | None = None

    @property
    def endpoint(self) -> str:
        """Where this process's jobs render, for counting the provider's slots."""
        if self._settings.provider.selected_kind == "midjourney-proxy":
            return self._settings.provider.base_url  # one server, shared by every process
        return f"{LOCAL_ENDPOINT}{self.holder}"  # this process's own model and device

    async def run(self) -> None:
        """Take this process's lease, then dispatch until it is lost (LeaseLost)."""
        dispatcher, lease = self._dispatcher, self.lease
        await lease.acquire()
        dispatcher.use_fence(lease.held)
        dispatcher.own_as(
            self.holder, endpoint=self.endpoint, limit=self._settings.provider.max_concurrency
        )
        # Renewing from now on, beside the set-up: a recovery may outlast the lease.
        keeping = asyncio.create_task(lease.keep(), name="dispatch-lease")
        try:
            await self._db.listen(NEW_JOBS_CHANNEL, lambda _payload: dispatcher.wake())
            await self._db.listen(
                CANCELLED_JOBS_CHANNEL,
                lambda payload: dispatcher.cancelled_elsewhere(int(payload)),
            )
            # The model loads where jobs render: only in the process that dispatches.
            self._start_provider()
            await dispatcher.start()
            self._started.set()
            # Retention runs beside the dispatcher (tests that drain by hand prune by hand).
            rollup = LedgerRollup(self._db, self._settings.quota, clock=self._clock)
            self._pruner = Pruner(
                self._db, self._settings.retention, clock=self._clock, rollup=rollup
            )
            self._pruner.start()
            adoption = Adoption(
                self._db,
                self.holder,
                dispatcher.adopt,
                duration=self._settings.scheduler.lease_seconds,
                endpoint=self.endpoint,
            )
            self._adoption = asyncio.create_task(adoption.run(), name="adoption")
            try:
                await keeping
            finally:
                await self._stop_adoption()
        except LeaseLost:
            log.error("lost this process's lease (its jobs go to another process): stopping")
            await dispatcher.stop(grace=0)
            raise
        finally:
            if not keeping.done():
                keeping.cancel()
                await asyncio.gather(keeping, return_exceptions=True)

    async def stop_side_tasks(self) -> None:
        """Stop retention and adoption: nothing more is adopted into a stopping dispatcher."""
        if self._pruner is not None:
            await self._pruner.stop()
            self._pruner = None
        await self._stop_adoption()

    async def release(self) -> None:
        """Give the lease up if still held: another process adopts the jobs left running."""
        if self.lease.held():
            with contextlib.suppress(Exception):
                await self.lease.release()

    async def _stop_adoption(self) -> None:
        if self._adoption is not None:
            adoption, self._adoption = self._adoption, None
            adoption.cancel()
            await asyncio.gather(adoption, return_exceptions=True)
