"""Speed modes, shared by the prompt language, the scheduler, quota and the providers."""

from __future__ import annotations

from enum import StrEnum


class SpeedMode(StrEnum):
    """How fast a job runs and what it costs; relax is scheduled by the bot itself."""

    TURBO = "turbo"
    FAST = "fast"
    RELAX = "relax"
