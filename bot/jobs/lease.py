"""Leases held by processes: while a process holds one, what it guards is its own.

Every process that dispatches (``run``, ``worker``) names itself ``role@host:pid:token`` (the
token tells apart processes that share a host name and a pid, as containers do), holds the
lease ``worker:<its name>`` and owns the jobs it claims (``bot.jobs.adoption``); it renews the
lease every third of its length. ``DispatchLease`` also serves a lease that several processes
want (claim, stand by, take over), which is how the per-process leases are tested.

Another process takes a lease over when it has watched the same renewal unchanged for a whole
lease length by its own monotonic clock, counted from after it read it: no two machines' wall
clocks are compared, so a clock step or skew cannot hand it over early. A holder of this same
boot and pid namespace whose process is gone is replaced at once. The holder trusts the lease
for two thirds of a lease length after it last asked to renew it, by its own monotonic clock
(``held``): that ends well before any other can have watched a whole lease length since it
read that renewal, leaving a third of a lease for clock drift and an action under way. While
``held`` is false the dispatcher neither submits nor posts (its fence). ``keep`` raises
``LeaseLost`` when a renewal finds the lease gone or taken anew, and also when this process's
trust lapsed before a renewal came back (a stall): whatever it left undone meanwhile (a result
not posted) is done by whoever takes its jobs over, this process restarted included.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.store.database import Database
from bot.store.leases import Lease, LeaseRepository

log = logging.getLogger(__name__)

DISPATCH = "dispatch"
WORKER_PREFIX = "worker:"
"""Each dispatching process holds the lease ``worker:<its name>`` (``bot.jobs.adoption``)."""
TRUSTED_SHARE = 2 / 3
"""How much of a lease length the holder trusts its last renewal (the rest is margin)."""


class LeaseLost(RuntimeError):
    """Another process holds the lease now, or it could not be renewed in time."""


def _pid_namespace() -> str:
    """The boot and pid namespace of this process: where a pid means the same process.

    The namespace's inode alone repeats across machines (the host's is a kernel constant), so
    the boot id comes with it; off Linux the machine is unknown and no pid is judged.
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")
        return f"{boot[:16]}-{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return "unknown"


def process_name(role: str) -> str:
    """The name of this process as a lease holder: ``role@host:pid:where.token``."""
    token = f"{_pid_namespace()}.{uuid.uuid4().hex[:8]}"
    return f"{role}@{socket.gethostname()}:{os.getpid()}:{token}"


def worker_lease_name(holder: str) -> str:
    """The lease a dispatching process holds while its jobs are its own."""
    return f"{WORKER_PREFIX}{holder}"


def is_worker(lease: Lease) -> bool:
    """Whether ``lease`` is a dispatching process's own lease."""
    return lease.name.startswith(WORKER_PREFIX)


def pid_of(holder: str) -> int | None:
    """The pid in a holder's name, or None."""
    parts = holder.rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def gone_from_this_host(holder: str) -> bool:
    """Whether ``holder`` names a process of this host and pid namespace that no longer runs."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    where, pid, token = parts
    host = where.partition("@")[2]
    where = token.partition(".")[0]
    here = _pid_namespace()
    if host != socket.gethostname() or where != here or here == "unknown":
        return False
    if int(pid) == os.getpid():
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
        self._acquired_at: float | None = None
        self._lapsed = False
        """Trust ran out before a renewal came back, while holding the lease."""
        # Another holder's lease as last read, and since when (monotonic) it has not changed.
        self._watched: tuple[str, float] | None = None
        self._watched_since = 0.0

    def held(self) -> bool:
        """Whether this process may act as the holder now (its own clock, no query)."""
        return self._monotonic() < self._trusted_until

    async def claim(self) -> Lease | None:
        """Take or renew the lease once; the lease, or None while another process holds it."""
        # Trusted from before the claim was sent: a standby saw the renewal only after that.
        asked_at = self._monotonic()
        # Not behind the database's lock of every transaction: a process frozen inside one
        # must not keep the standbys from reading the lease (the upsert is atomic alone).
        async with self._db.transaction(serialised=False) as tx:
            current = await self._repo.get(tx, self.name)
            # A watch starts once the row is read, never earlier.
            read_at = self._monotonic()
            lease = await self._repo.claim(
                tx,
                self.name,
                self.holder,
                now=self._clock(),
                duration=self.duration,
                replace=self._replaceable(current, read_at),
            )
        if lease is not None:
            self._lapsed = self._lapsed or (
                self._acquired_at is not None and self._monotonic() >= self._trusted_until
            )
            self._trusted_until = asked_at + self.duration * TRUSTED_SHARE
            self._watched = None
        return lease

    def _replaceable(self, current: Lease | None, now: float) -> Lease | None:
        """``current`` if its holder is gone or has been silent a whole lease length."""
        if current is None or current.holder == self.holder:
            return None
        if gone_from_this_host(current.holder):
            return current
        seen = (current.holder, current.renewed_at)
        if seen != self._watched:
            self._watched, self._watched_since = seen, now
            return None
        return current if now - self._watched_since >= self.duration else None

    async def acquire(self) -> Lease:
        """Wait until this process holds the lease (claiming every third of its length)."""
        waited = False
        while True:
            try:
                lease = await self.claim()
            except Exception:
                # The database restarting, or failing over: a standby waits it out.
                log.warning("could not read the %s lease; trying again", self.name, exc_info=True)
                lease = None
            if lease is not None:
                if waited:
                    log.info("took over the %s lease", self.name)
                self._acquired_at = lease.acquired_at
                self._lapsed = False
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
            if lease is None or lease.acquired_at != self._acquired_at:
                # Taken by another, or lost and taken anew: this process's view is stale.
                self._trusted_until = float("-inf")
                raise LeaseLost(f"another process took the {self.name} lease over")
            if self._lapsed:
                # Fenced meanwhile: what was left undone needs a recovery, so a restart.
                self._trusted_until = float("-inf")
                raise LeaseLost(f"the {self.name} lease lapsed before it was renewed")

    async def release(self) -> None:
        """Give the lease up (a clean stop), so that a standby takes over at once."""
        self._trusted_until = float("-inf")
        async with self._db.transaction() as tx:
            await self._repo.release(tx, self.name, self.holder)
