"""What the dispatcher's pieces share: the store, the provider, the slots, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.jobs.events import JobEvents
from bot.jobs.inflight import Slots
from bot.jobs.policy import FairScheduler
from bot.jobs.settle import Settler
from bot.jobs.unsettled import UnsettledSubmits
from bot.providers.base import ImageProvider
from bot.settings import SchedulerSettings
from bot.store.database import Database
from bot.store.jobs import JobRepository


@dataclass(frozen=True, slots=True)
class Parts:
    """The dispatcher's shared collaborators, handed to the submitter, tracker and recovery."""

    db: Database
    repo: JobRepository
    provider: ImageProvider
    settler: Settler
    events: JobEvents
    slots: Slots
    policy: FairScheduler
    settings: SchedulerSettings
    clock: Callable[[], float]
    unsettled: UnsettledSubmits
    """Jobs whose submit went unanswered, waiting to be found at the provider by state."""
