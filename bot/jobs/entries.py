"""What the scheduling policy queues: one job's entry, and the check of running limits.

Below ``policy`` and its ``relax`` class, which both read them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.model import SpeedMode

CanStart = Callable[[int, int], bool]
"""``(guild_id, user_id) -> bool``: whether a running limit still leaves room."""


@dataclass(slots=True)
class QueueEntry:
    """A waiting or running job as the policy sees it."""

    job_id: int
    guild_id: int
    user_id: int
    speed: SpeedMode
    weight: int
    """Scheduling weight in millicredits at fast speed (how much provider time it takes)."""
