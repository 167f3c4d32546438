"""What happened to a job, as the job service announces it to its listeners."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.model.job import Job

EventKind = Literal["queued", "started", "progress", "succeeded", "failed", "cancelled"]


@dataclass(frozen=True, slots=True)
class JobEvent:
    """Something happened to a job; ``job`` is its record after the change."""

    kind: EventKind
    job: Job
