"""Budget periods: the window (start, end) that an instant falls in, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from bot.store.budgets import BudgetPeriod
from bot.store.usage import UsageKey


class PeriodWindow(BaseModel):
    """One budget period: usage counts from ``start`` until ``end``."""

    model_config = ConfigDict(frozen=True)

    period: BudgetPeriod
    reset_hour: int
    start: datetime
    end: datetime

    @property
    def start_ts(self) -> float:
        """The start as epoch seconds, the key of the period's usage rows."""
        return self.start.timestamp()

    def usage_key(self, guild_id: int, user_id: int | None) -> UsageKey:
        """The usage row of a member (or the pool, ``user_id`` None) in this period."""
        return UsageKey(guild_id=guild_id, user_id=user_id, period_start=self.start_ts)


def _month_start(year: int, month: int, hour: int) -> datetime:
    return datetime(year, month, 1, hour, tzinfo=UTC)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return _month_start(index // 12, index % 12 + 1, moment.hour)


def period_window(now: float, period: BudgetPeriod, reset_hour: int) -> PeriodWindow:
    """The period containing ``now`` (epoch seconds) for a period kind and UTC reset hour."""
    if not 0 <= reset_hour <= 23:
        raise ValueError(f"reset hour must be 0-23, not {reset_hour}")
    moment = datetime.fromtimestamp(now, tz=UTC)
    if period is BudgetPeriod.MONTH:
        start = _month_start(moment.year, moment.month, reset_hour)
        if moment < start:
            start = _add_months(start, -1)
        return PeriodWindow(
            period=period, reset_hour=reset_hour, start=start, end=_add_months(start, 1)
        )
    step = timedelta(days=1 if period is BudgetPeriod.DAY else 7)
    start = moment.replace(hour=reset_hour, minute=0, second=0, microsecond=0)
    if period is BudgetPeriod.WEEK:
        # Weeks start on Monday, as ISO weeks do.
        start -= timedelta(days=moment.weekday())
    if moment < start:
        start -= step
    return PeriodWindow(period=period, reset_hour=reset_hour, start=start, end=start + step)
