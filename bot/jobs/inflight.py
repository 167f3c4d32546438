"""The provider slots: which jobs are at the provider now, by job id and by task id."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bot.jobs.entries import QueueEntry
from bot.jobs.policy import FairScheduler
from bot.providers.base import TaskStatus


@dataclass(slots=True)
class InFlight:
    """One job holding a provider slot (being submitted, or running at the provider)."""

    entry: QueueEntry
    started_at: float
    changed_at: float
    """When the provider last reported a change (the stall watchdog's reference)."""
    task_id: str | None = None
    progress: int = -1
    status: TaskStatus | None = None
    preview_url: str | None = None
    began: bool = False
    """The provider reported work on it (so a forgotten task is not resubmitted)."""
    resubmitted: bool = False
    abandoned: bool = False
    """Cancelled by the user: the slot is held until the provider lets go of the task."""

    @property
    def job_id(self) -> int:
        """The job's id."""
        return self.entry.job_id


class Slots:
    """At most ``capacity`` jobs in flight; releasing one also releases it in the policy."""

    def __init__(self, capacity: int, policy: FairScheduler) -> None:
        self.capacity = capacity
        self._policy = policy
        self._jobs: dict[int, InFlight] = {}
        self._tasks: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self) -> Iterator[InFlight]:
        return iter(list(self._jobs.values()))

    @property
    def free(self) -> int:
        """How many more jobs may start now."""
        return max(0, self.capacity - len(self._jobs))

    def occupy(self, entry: QueueEntry, *, now: float, task_id: str | None = None) -> InFlight:
        """A job takes a slot (it was picked, or recovery found it at the provider)."""
        flight = InFlight(entry=entry, started_at=now, changed_at=now)
        self._jobs[entry.job_id] = flight
        if task_id is not None:
            self.attach(flight, task_id)
        return flight

    def attach(self, flight: InFlight, task_id: str) -> None:
        """The provider accepted the job as ``task_id``."""
        if flight.task_id is not None:
            self._tasks.pop(flight.task_id, None)
        flight.task_id = task_id
        self._tasks[task_id] = flight.job_id

    def get(self, job_id: int) -> InFlight | None:
        """The job's flight, if it holds a slot."""
        return self._jobs.get(job_id)

    def by_task(self, task_id: str) -> InFlight | None:
        """The flight tracking this provider task, if any."""
        job_id = self._tasks.get(task_id)
        return None if job_id is None else self._jobs.get(job_id)

    def task_ids(self) -> list[str]:
        """Every provider task to poll."""
        return list(self._tasks)

    def release(self, flight: InFlight) -> bool:
        """Free the job's slot; False when it had already been freed."""
        if not self._drop(flight):
            return False
        self._policy.finish(flight.job_id)
        return True

    def requeue(self, flight: InFlight) -> None:
        """Free the slot of a job that could not start: it waits at the head of its line."""
        if self._drop(flight):
            self._policy.requeue(flight.job_id)

    def _drop(self, flight: InFlight) -> bool:
        if self._jobs.pop(flight.job_id, None) is None:
            return False
        if flight.task_id is not None:
            self._tasks.pop(flight.task_id, None)
        return True
