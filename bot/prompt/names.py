"""Resolving written parameter names: built-in, custom option, rejected, or a likely typo."""

from __future__ import annotations

import re
from functools import lru_cache

from bot.prompt.table import BY_NAME, UNSUPPORTED, UNSUPPORTED_ALIASES, Kind

_NAME_WITH_NUMBER = re.compile(r"([a-z]+)(\d[\d.]*)")
_MAX_DISTANCE = 2


def unsupported_reason(name: str) -> tuple[str, str] | None:
    """The canonical name and the reason, when this is a parameter the bot rejects."""
    canonical = UNSUPPORTED_ALIASES.get(name, name)
    reason = UNSUPPORTED.get(canonical)
    return None if reason is None else (canonical, reason)


def _distance(left: str, right: str, limit: int) -> int:
    """Levenshtein distance, or ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(left) - len(right)) > limit:
        return limit + 1
    previous = list(range(len(right) + 1))
    for row, left_char in enumerate(left, start=1):
        current = [row]
        for column, right_char in enumerate(right, start=1):
            current.append(
                min(
                    previous[column] + 1,
                    current[column - 1] + 1,
                    previous[column - 1] + (left_char != right_char),
                )
            )
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


@lru_cache(maxsize=1024)
def did_you_mean(name: str) -> str | None:
    """A close known spelling for an unknown name ("--stylize", "--v 7"), if there is one."""
    glued = _NAME_WITH_NUMBER.fullmatch(name)
    if glued is not None:
        spec = BY_NAME.get(glued.group(1))
        if spec is not None and spec.kind is not Kind.FLAG:
            return f"--{glued.group(1)} {glued.group(2)}"
    if len(name) > 24:
        return None
    best: tuple[int, str] | None = None
    for candidate in BY_NAME:
        distance = _distance(name, candidate, _MAX_DISTANCE)
        # A one-letter name is two edits from almost anything; only suggest real near-misses.
        if distance <= min(_MAX_DISTANCE, len(candidate)) and (best is None or distance < best[0]):
            best = (distance, BY_NAME[candidate].name)
    return None if best is None else f"--{best[1]}"
