"""Numbers as the prompt language writes them: no exponents, no sign where none is allowed."""

from __future__ import annotations

import math
import re
from decimal import Decimal

# Anchored and without nested repetition: linear on any input.
WEIGHT = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
UNSIGNED = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)")
INTEGER = re.compile(r"-?\d+")

# Longer digit runs than this are out of every range; int() on them would be slow or refused.
MAX_DIGITS = 24


def parse_decimal(text: str, *, signed: bool = True) -> float | None:
    """The value of a decimal such as ``.5``, ``-1.25`` or ``2.``; None if it is not one."""
    pattern = WEIGHT if signed else UNSIGNED
    if len(text) > MAX_DIGITS or pattern.fullmatch(text) is None:
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_integer(text: str) -> int | None:
    """The value of a whole number with an optional minus sign; None if it is not one."""
    if len(text) > MAX_DIGITS or INTEGER.fullmatch(text) is None:
        return None
    return int(text)


def format_number(value: float) -> str:
    """Shortest text for a number, without trailing zeros or exponent (``0.25``, ``2``)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
