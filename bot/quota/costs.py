"""The cost model: what a job costs, in thousandths of a credit so ledger sums stay exact."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from bot.model import SpeedMode
from bot.settings import CostSettings

MILLI = 1000
"""Millicredits per credit: every amount in the ledger is an integer count of these."""


def _decimal(value: float) -> Decimal:
    # str() keeps a configured 0.1 as 0.1 rather than the binary float's long expansion.
    return Decimal(str(value))


def _quality_key(quality: float) -> str:
    return f"{quality:g}"


class CostModel:
    """Base cost of an action times the speed, quality, draft and oref multipliers."""

    def __init__(self, costs: CostSettings) -> None:
        self._costs = costs
        # Every job is priced (twice: its cost and its fast-speed weight); the table is fixed
        # and the inputs few, so each answer is worked out in decimals once.
        self._known: dict[tuple[str, SpeedMode, float, bool, bool], int] = {}

    @property
    def actions(self) -> frozenset[str]:
        """The actions the cost table prices."""
        return frozenset(self._costs.base)

    def cost(
        self,
        action: str,
        *,
        speed: SpeedMode,
        quality: float = 1.0,
        draft: bool = False,
        oref: bool = False,
    ) -> int:
        """The cost of one job in millicredits."""
        key = (action, speed, quality, draft, oref)
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = self._work_out(action, speed, quality, draft, oref)
        return known

    def _work_out(
        self, action: str, speed: SpeedMode, quality: float, draft: bool, oref: bool
    ) -> int:
        try:
            base = self._costs.base[action]
        except KeyError:
            known = ", ".join(sorted(self._costs.base))
            raise ValueError(f"no cost for action {action!r}; known: {known}") from None
        # A quality the table does not list (a new model's value) costs in proportion to it.
        quality_factor = self._costs.quality.get(_quality_key(quality), quality)
        credits = (
            _decimal(base)
            * _decimal(self._costs.speed.get(speed.value, 1.0))
            * _decimal(quality_factor)
            * (_decimal(self._costs.draft) if draft else Decimal(1))
            * (_decimal(self._costs.oref) if oref else Decimal(1))
        )
        return int((credits * MILLI).to_integral_value(rounding=ROUND_HALF_UP))


def to_millicredits(credits: float) -> int:
    """Credits (as configured or typed by a moderator) in millicredits, rounded half up."""
    return int((_decimal(credits) * MILLI).to_integral_value(rounding=ROUND_HALF_UP))


def format_credits(millicredits: int) -> str:
    """Millicredits as a short decimal number of credits: 1250 -> "1.25", 10000 -> "10"."""
    sign = "-" if millicredits < 0 else ""
    whole, fraction = divmod(abs(millicredits), MILLI)
    if fraction == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}." + f"{fraction:03d}".rstrip("0")
