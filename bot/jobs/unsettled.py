"""Submits whose outcome is unknown: when to ask the provider about them, when to give up.

A submit that timed out (or was cut off, or crashed the bot) may still be accepted by the
provider after the bot stopped waiting. Such a job stays ``submitting`` and keeps its slot;
the provider is asked for the job's task by its ``state`` with back-off, and the job may be
submitted again only once the ``window`` since the submit started has passed (the submit's
own time limit plus a margin) AND the provider then answers that it has no such task.
A provider that cannot be asked at all for ``give_up_after`` seconds ends the wait: the job
fails with a refund (and a cancelled one gives its slot back once the window has closed).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class _Pending:
    since: float
    """When the unanswered submit was sent."""
    due: float
    """When to ask the provider next."""
    looks: int = 0


class UnsettledSubmits:
    """The jobs waiting for the provider to show (or provably not have) their task."""

    def __init__(
        self,
        *,
        window: float,
        first_delay: float,
        max_delay: float,
        give_up_after: float = float("inf"),
    ) -> None:
        self.window = window
        self.give_up_after = give_up_after
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._jobs: dict[int, _Pending] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    def hold(self, job_id: int, *, since: float, now: float) -> None:
        """The submit sent at ``since`` went unanswered: ask about it later."""
        self._jobs[job_id] = _Pending(since=since, due=now)
        self.later(job_id, now=now)

    def later(self, job_id: int, *, now: float) -> None:
        """No answer that settles it yet: ask again after a longer pause."""
        pending = self._jobs[job_id]
        delay = min(self._max_delay, self._first_delay * 2**pending.looks)
        pending.looks += 1
        pending.due = now + delay
        # The looks that decide come on time: as soon as the window closes (a second submit
        # may then be allowed) and when the wait is over (the job fails).
        for moment in (pending.since + self.window, pending.since + self.give_up_after):
            if now < moment:
                pending.due = min(pending.due, moment)

    def due(self, now: float) -> list[int]:
        """Jobs to ask about now, oldest first."""
        return sorted(job_id for job_id, pending in self._jobs.items() if pending.due <= now)

    def closed(self, since: float, now: float) -> bool:
        """Whether a submit sent at ``since`` can no longer be accepted late."""
        return now >= since + self.window

    def window_closed(self, job_id: int, now: float) -> bool:
        """Whether the provider can no longer accept this held job's unanswered submit."""
        return self.closed(self._jobs[job_id].since, now)

    def overdue(self, job_id: int, now: float) -> bool:
        """Whether this held job has waited too long for the provider to answer at all."""
        return now >= self._jobs[job_id].since + self.give_up_after

    def next_due(self) -> float | None:
        """When the next look is due; None when nothing is held."""
        return min((pending.due for pending in self._jobs.values()), default=None)

    def drop(self, job_id: int) -> None:
        """The job's outcome is settled (or it left its slot)."""
        self._jobs.pop(job_id, None)
