"""The ledger roll-up pass: closed budget periods keep one row per member, not one per job.

A period is closed for a guild when it started before the guild's current period (by the
guild's own period kind and reset hour). Its per-job entries are rolled up once no
reservation of it is held; the totals every balance reads (the usage summary) are not
touched, and the ledger still adds up to them. The pass walks the periods that still have
per-job entries in (guild, start) order: a guild's current period ends its walk over that
guild, so a pass costs a few look-ups per active guild plus the entries it replaces. Each
step is one short transaction; the pruner runs the pass (``bot.jobs.retention``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from bot.quota.core import QuotaCore
from bot.settings import QuotaSettings
from bot.store.database import Database, Transaction
from bot.store.rollup import PeriodKey, RollupRepository

_PROBES = 50
"""Periods looked at per transaction while searching for a closed one."""
_MEMBERS = 50
"""Members rolled up per transaction (each a few to a few hundred entries)."""
_NO_MEMBER = -1
"""Below every Discord id: where the walk over a period's members starts."""


@dataclass(frozen=True, slots=True)
class RollupReport:
    """What a pass rolled up (or, from ``pending``, would roll up)."""

    periods: int = 0
    members: int = 0
    """Roll-up rows written: one per member and period."""
    entries: int = 0
    """Per-job entries replaced."""


class LedgerRollup:
    """Rolls closed periods' per-job ledger entries up into one row per member and period."""

    def __init__(
        self, db: Database, settings: QuotaSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = db
        self._core = QuotaCore(db, settings, clock=clock)
        self._repo = RollupRepository()

    async def run_once(self) -> RollupReport:
        """Roll up every closed period that holds no reservation; what was done."""
        periods = members = entries = 0
        async for key in self._closed_periods():
            after = _NO_MEMBER
            rolled = False
            while True:
                async with self._db.transaction() as tx:
                    # Checked again in the writing transaction: a reservation may have been
                    # made in the period since it was found (a guild that changed its period).
                    if await self._repo.held(tx, key):
                        break
                    users = await self._repo.members(tx, key, after=after, limit=_MEMBERS)
                    entries += await self._repo.roll_up(tx, key, users)
                members += len(users)
                rolled = rolled or bool(users)
                if len(users) < _MEMBERS:
                    break
                after = users[-1]
            periods += rolled
        return RollupReport(periods=periods, members=members, entries=entries)

    async def pending(self) -> RollupReport:
        """What the next pass would roll up (for ``python -m bot storage``)."""
        periods = members = entries = 0
        async for key in self._closed_periods():
            async with self._db.transaction() as tx:
                count, users = await self._repo.count(tx, key)
            periods += 1
            members += users
            entries += count
        return RollupReport(periods=periods, members=members, entries=entries)

    async def _closed_periods(self) -> AsyncIterator[PeriodKey]:
        cursor: PeriodKey | None = None
        while True:
            async with self._db.transaction() as tx:
                found, cursor = await self._probe(tx, cursor)
            if found is not None:
                yield found
            if cursor is None:
                return

    async def _probe(
        self, tx: Transaction, after: PeriodKey | None
    ) -> tuple[PeriodKey | None, PeriodKey | None]:
        """The next closed period without a held reservation, within ``_PROBES`` look-ups.

        Starts at the first period when ``after`` is None. Returns the period found (or
        None) and where the walk goes on from (None: the walk is over).
        """
        for _ in range(_PROBES):
            key = await self._repo.next_period(tx, after)
            if key is None:
                return None, None
            window = await self._core.window_in(tx, key.guild_id)
            if key.period_start >= window.start_ts:
                # The guild's current period (or a later one): none of its periods is next.
                after = PeriodKey(key.guild_id, float("inf"))
                continue
            after = key
            if not await self._repo.held(tx, key):
                return key, key
        return None, after
