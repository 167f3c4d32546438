"""Adoption: another dispatching process fell silent, so its unfinished jobs become ours.

Several processes dispatch from one database at once, each holding its own lease
(``worker:<name>``, ``bot.jobs.lease``) and owning the jobs it claimed. Every process watches
the others' leases every third of a lease length. One whose renewal has not changed for a
whole lease length by the watcher's own monotonic clock (counted from the read), or whose
process is gone from this host, is adopted: in one transaction its lease is deleted, if it is
still as read, and its unfinished jobs are made the watcher's (a conditional UPDATE), so of two
watchers one gets them, exactly once. The adopter then treats them as recovery does: running
jobs are tracked again by their provider task id, submitting ones matched by their job id,
queued ones wait in its queue. Jobs of an owner with no lease at all (it stopped cleanly and
gave its lease up, or claimed them before leases) are adopted at once.

The silent process's own trust in its lease ended a third of a lease before (``held``), so
it posts nothing after that; if it was only stalled, its next renewal finds the lease gone and
it stops (``LeaseLost``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.jobs.lease import gone_from_this_host, is_worker
from bot.store.database import Database
from bot.store.jobs import JobRepository, PendingJob
from bot.store.leases import Lease, LeaseRepository

log = logging.getLogger(__name__)


class Adoption:
    """Watches the other dispatching processes and adopts a silent one's jobs."""

    def __init__(
        self,
        db: Database,
        owner: str,
        adopt: Callable[[list[PendingJob]], Awaitable[object]],
        *,
        duration: float,
        endpoint: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._db = db
        self._owner = owner
        self._adopt = adopt
        self._duration = duration
        self._endpoint = endpoint
        self._monotonic = monotonic
        self._sleep = sleep
        self._jobs = JobRepository()
        self._leases = LeaseRepository()
        self._watched: dict[str, tuple[float, float]] = {}
        """Another process's last renewal as read, and since when (monotonic) unchanged."""

    async def run(self) -> None:
        """Look every third of a lease length, until cancelled."""
        while True:
            await self._sleep(self._duration / 3)
            try:
                await self.look()
            except Exception:
                log.warning("could not look for silent dispatchers; trying again", exc_info=True)

    async def look(self) -> int:
        """One look at the other processes; how many jobs were adopted."""
        async with self._db.transaction() as tx:
            others = [
                lease
                for lease in await self._leases.all(tx)
                if is_worker(lease) and lease.holder != self._owner
            ]
            owners = await self._jobs.live_owners(tx)
        read_at = self._monotonic()
        silent = self._silent(others, read_at)
        holders = {lease.holder for lease in others}
        # No lease at all: stopped cleanly (its lease given up) or from before leases.
        leaderless = [o for o in owners if o != self._owner and (o is None or o not in holders)]
        if not silent and not leaderless:
            return 0
        adopted: list[PendingJob] = []
        async with self._db.transaction() as tx:
            for lease in silent:
                if await self._leases.release_read(tx, lease):
                    log.warning("%s fell silent: adopting its jobs", lease.holder)
                    adopted.extend(
                        await self._jobs.adopt(
                            tx, self._owner, lease.holder, endpoint=self._endpoint
                        )
                    )
            for previous in leaderless:
                adopted.extend(
                    await self._jobs.adopt(tx, self._owner, previous, endpoint=self._endpoint)
                )
        if adopted:
            try:
                await self._adopt(adopted)
            except BaseException:
                # Nobody would track them: owned by nobody, the next look adopts them again.
                async with self._db.transaction() as tx:
                    await self._jobs.disown(tx, self._owner, [job.id for job in adopted])
                raise
        return len(adopted)

    def _silent(self, others: list[Lease], read_at: float) -> list[Lease]:
        """The leases whose holder is gone, or unchanged for a whole lease length."""
        silent = []
        for lease in others:
            if gone_from_this_host(lease.holder):
                silent.append(lease)
                continue
            seen = self._watched.get(lease.holder)
            if seen is None or seen[0] != lease.renewed_at:
                self._watched[lease.holder] = (lease.renewed_at, read_at)
            elif read_at - seen[1] >= self._duration:
                silent.append(lease)
        present = {lease.holder for lease in others}
        for holder in [h for h in self._watched if h not in present]:
            del self._watched[holder]
        return silent
