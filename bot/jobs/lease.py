"""The dispatch lease: one process at a time runs the dispatcher on a shared database.

Every process that may dispatch (``run``, ``worker``) names itself ``role@host:pid`` and
claims the lease ``dispatch``; the one that gets it recovers the queue and dispatches, and
renews the lease every third of its length; the others wait, claiming again at that pace, and
the first to find it expired takes over: its recovery resumes every job by its provider task
id, so nothing is submitted or posted twice. A holder on this same host whose process is gone
(a restart in the same container, where the pid is often the same) is replaced at once rather
than after the expiry.

A holder that cannot renew (its database unreachable, its process stalled) stops trusting
the lease at the moment it would expire by its own clock (``held``), before anyone else may
take it; the dispatcher posts nothing then (its fence), and ``keep`` raises ``LeaseLost``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable

from bot.store.database import Database
from bot.store.leases import Lease, LeaseRepository

log = logging.getLogger(__name__)

DISPATCH = "dispatch"


class LeaseLost(RuntimeError):
    """Another process holds the lease now, or it could not be renewed in time."""


def process_name(role: str) -> str:
    """The name of this process as a lease holder: ``role@host:pid``."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}"


def gone_from_this_host(holder: str) -> bool:
    """Whether ``holder`` names a process of this host that no longer runs."""
    where, _, pid = holder.rpartition(":")
    host = where.partition("@")[2]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class DispatchLease:
    """Claims, keeps and gives back the lease ``name`` for ``holder``."""

    def __init__(
        self,
        db: Database,
        holder: str,
        *,
        duration: float,
        name: str = DISPATCH,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._db = db
        self.holder = holder
        self.duration = duration
        self.name = name
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._repo = LeaseRepository()
        self._trusted_until = float("-inf")

    def held(self) -> bool:
        """Whether this process may act as the holder now (its own clock, no query)."""
        return self._monotonic() < self._trusted_until

    async def claim(self) -> Lease | None:
        """Take or renew the lease once; the lease, or None while another process holds it."""
        # Trusted from before the claim was sent: the database's expiry is later than that.
        asked_at = self._monotonic()
        async with self._db.transaction() as tx:
            current = await self._repo.get(tx, self.name)
            dead = (
                current.holder
                if current is not None
                and current.holder != self.holder
                and gone_from_this_host(current.holder)
                else None
            )
            lease = await self._repo.claim(
                tx,
                self.name,
                self.holder,
                now=self._clock(),
                duration=self.duration,
                replace=dead,
            )
        if lease is not None:
            self._trusted_until = asked_at + self.duration
        elif current is not None:
            log.debug("lease %s held by %s", self.name, current.holder)
        return lease

    async def acquire(self) -> Lease:
        """Wait until this process holds the lease (claiming every third of its length)."""
        waited = False
        while True:
            lease = await self.claim()
            if lease is not None:
                if waited:
                    log.info("took over the %s lease", self.name)
                return lease
            if not waited:
                log.info(
                    "another process dispatches from this database; standing by to take over"
                    " within %.0f s of it stopping",
                    self.duration,
                )
                waited = True
            await self._sleep(self.duration / 3)

    async def keep(self) -> None:
        """Renew the lease every third of its length until it is lost: raises ``LeaseLost``."""
        while True:
            await self._sleep(self.duration / 3)
            try:
                lease = await self.claim()
            except Exception:
                if not self.held():
                    raise LeaseLost(f"could not renew the {self.name} lease in time") from None
                log.warning("could not renew the %s lease; trying again", self.name, exc_info=True)
                continue
            if lease is None:
                self._trusted_until = float("-inf")
                raise LeaseLost(f"another process took the {self.name} lease over")

    async def release(self) -> None:
        """Give the lease up (a clean stop), so that a standby takes over at once."""
        self._trusted_until = float("-inf")
        async with self._db.transaction() as tx:
            await self._repo.release(tx, self.name, self.holder)
