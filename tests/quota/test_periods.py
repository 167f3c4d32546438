from datetime import UTC, datetime

import pytest

from bot.quota import BudgetPeriod, period_window


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("now", "period", "hour", "start", "end"),
    [
        (ts(2026, 3, 10, 12), BudgetPeriod.DAY, 0, ts(2026, 3, 10), ts(2026, 3, 11)),
        (ts(2026, 3, 10, 0), BudgetPeriod.DAY, 0, ts(2026, 3, 10), ts(2026, 3, 11)),
        (ts(2026, 3, 10, 5, 59), BudgetPeriod.DAY, 6, ts(2026, 3, 9, 6), ts(2026, 3, 10, 6)),
        (ts(2026, 3, 10, 6), BudgetPeriod.DAY, 6, ts(2026, 3, 10, 6), ts(2026, 3, 11, 6)),
        (ts(2026, 12, 31, 23), BudgetPeriod.DAY, 0, ts(2026, 12, 31), ts(2027, 1, 1)),
        # 2026-03-11 is a Wednesday; weeks start on Monday.
        (ts(2026, 3, 11, 12), BudgetPeriod.WEEK, 0, ts(2026, 3, 9), ts(2026, 3, 16)),
        (ts(2026, 3, 9, 2), BudgetPeriod.WEEK, 3, ts(2026, 3, 2, 3), ts(2026, 3, 9, 3)),
        (ts(2026, 3, 15, 23), BudgetPeriod.WEEK, 0, ts(2026, 3, 9), ts(2026, 3, 16)),
        (ts(2026, 3, 10, 12), BudgetPeriod.MONTH, 0, ts(2026, 3, 1), ts(2026, 4, 1)),
        (ts(2026, 3, 1, 8), BudgetPeriod.MONTH, 9, ts(2026, 2, 1, 9), ts(2026, 3, 1, 9)),
        (ts(2026, 12, 20), BudgetPeriod.MONTH, 0, ts(2026, 12, 1), ts(2027, 1, 1)),
        (ts(2027, 1, 1, 4), BudgetPeriod.MONTH, 5, ts(2026, 12, 1, 5), ts(2027, 1, 1, 5)),
    ],
)
def test_period_window(
    now: float, period: BudgetPeriod, hour: int, start: float, end: float
) -> None:
    window = period_window(now, period, hour)
    assert (window.start.timestamp(), window.end.timestamp()) == (start, end)
    assert window.start.tzinfo is UTC
    assert window.start_ts <= now < window.end.timestamp()


def test_a_reset_hour_outside_the_day_is_refused() -> None:
    with pytest.raises(ValueError, match="0-23"):
        period_window(0.0, BudgetPeriod.DAY, 24)
