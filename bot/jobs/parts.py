"""What the dispatcher's pieces share: the store, the provider, the slots, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.jobs.events import JobEvents
from bot.jobs.inflight import Slots
from bot.jobs.policy import FairScheduler
from bot.jobs.settle import Settler
from bot.jobs.shared_queue import SharedQueue
from bot.jobs.unsettled import UnsettledSubmits
from bot.providers.base import ImageProvider
from bot.settings import SchedulerSettings
from bot.store.database import Database
from bot.store.jobs import JobRepository

LOCAL_ENDPOINT = "local:"
"""How a process-local endpoint's name begins (``local:<process>``: its own model)."""


@dataclass(slots=True)
class Ownership:
    """Who this dispatcher claims jobs as, when several processes dispatch from one database.

    ``owner`` None: the only dispatcher (tests, benchmarks): claims name no owner, recovery
    takes every unfinished job, slots are counted in this process alone.
    """

    owner: str | None = None
    endpoint: str | None = None
    """The provider the jobs go to; ``limit`` jobs at most run there, over every process."""
    limit: int = 0
    queue: SharedQueue | None = None
    """PostgreSQL: the queue every process shares, from which this one claims (else the
    dispatcher's own policy picks, and the claim checks the shared limits)."""

    @property
    def shared_endpoint(self) -> str | None:
        """The endpoint, when other processes may submit there too; else None.

        A shared endpoint's slots are counted in the database; this process's own model is
        bounded by its own slots.
        """
        if self.endpoint is None or self.endpoint.startswith(LOCAL_ENDPOINT):
            return None
        return self.endpoint

    def claim_fields(self) -> dict[str, str]:
        """The columns a claim sets."""
        if self.owner is None:
            return {}
        fields = {"owner": self.owner}
        if self.endpoint is not None:
            fields["endpoint"] = self.endpoint
        return fields


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
    ownership: Ownership = field(default_factory=Ownership)
