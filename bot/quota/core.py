"""What every part of the quota service shares: repositories, the clock, periods, limits."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from bot.quota.models import Limits, resolve_limits
from bot.quota.periods import PeriodWindow, period_window
from bot.settings import QuotaSettings
from bot.store.budgets import BudgetPeriod, BudgetRepository, GuildPeriod
from bot.store.database import Database, Transaction
from bot.store.ledger import LedgerRepository
from bot.store.reservations import ReservationRepository
from bot.store.usage import UsageRepository


class QuotaCore:
    """The state and look-ups the reservation and the moderation halves both use."""

    def __init__(
        self, db: Database, settings: QuotaSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock
        self._budgets = BudgetRepository()
        self._ledger = LedgerRepository()
        self._reservations = ReservationRepository()
        self._usage = UsageRepository()
        # The current window per (period, reset hour): every reservation asks for one, and a
        # window only changes at its end.
        self._windows: dict[tuple[BudgetPeriod, int], tuple[float, float, PeriodWindow]] = {}

    async def window_in(self, tx: Transaction, guild_id: int) -> PeriodWindow:
        """The guild's current budget period."""
        return self._window(await self._budgets.period(tx, guild_id))

    async def window_and_limits_in(
        self, tx: Transaction, *, guild_id: int, user_id: int, role_ids: Sequence[int]
    ) -> tuple[PeriodWindow, Limits]:
        """``window_in`` and ``limits_in`` together, in one trip to the store."""
        choice, rows = await self._budgets.period_and_limits(tx, guild_id)
        limits = resolve_limits(rows, self._settings, user_id=user_id, role_ids=role_ids)
        return self._window(choice), limits

    def _window(self, choice: GuildPeriod) -> PeriodWindow:
        now = self._clock()
        key = (
            choice.period or BudgetPeriod(self._settings.period),
            self._settings.reset_hour_utc if choice.reset_hour is None else choice.reset_hour,
        )
        known = self._windows.get(key)
        # A microsecond short of the end: period_window reads the time to the microsecond, so
        # in the last one it may already give the next window, and then it decides.
        if known is not None and known[0] <= now < known[1] - 1e-6:
            return known[2]
        window = period_window(now, *key)
        self._windows[key] = (window.start_ts, window.end.timestamp(), window)
        return window

    async def limits_in(
        self, tx: Transaction, *, guild_id: int, user_id: int, role_ids: Sequence[int]
    ) -> Limits:
        """The member's and the pool's limits before this period's grants."""
        rows = await self._budgets.limits(tx, guild_id)
        return resolve_limits(rows, self._settings, user_id=user_id, role_ids=role_ids)
