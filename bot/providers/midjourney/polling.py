"""Adaptive poll pacing: poll often while tasks move, back off while they wait.

The dispatcher owns the polling loop. After each ``fetch_many`` it reads
``provider.suggested_poll_interval`` and sleeps that long before the next poll of all its
in-flight tasks (one request). The interval halves, down to a quarter of
``ProviderSettings.poll_interval``, when any task's status or progress changed since the
previous poll, and grows by half again, up to ``poll_interval``, when nothing moved.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.providers.base import TaskState, TaskStatus

FASTEST_SHARE = 0.25
"""The fastest interval, as a share of the configured (slowest) interval."""


class PollPacer:
    """Tracks task movement between polls and suggests the next interval."""

    def __init__(self, poll_interval: float) -> None:
        self._slowest = poll_interval
        self._fastest = poll_interval * FASTEST_SHARE
        self._interval = poll_interval
        self._seen: dict[str, tuple[TaskStatus, int]] = {}

    @property
    def interval(self) -> float:
        """Seconds until the next poll, within [poll_interval / 4, poll_interval]."""
        return self._interval

    def observe(self, tasks: Iterable[TaskState]) -> None:
        """Record one poll's answers; terminal tasks stop being tracked."""
        moved = False
        for task in tasks:
            snapshot = (task.status, task.progress)
            if self._seen.get(task.task_id) != snapshot:
                moved = True
            if task.terminal:
                self._seen.pop(task.task_id, None)
            else:
                self._seen[task.task_id] = snapshot
        if moved:
            self._interval = max(self._fastest, self._interval / 2)
        else:
            self._interval = min(self._slowest, self._interval * 1.5)

    def forget(self, task_ids: Iterable[str]) -> None:
        """Stop tracking tasks the provider no longer knows."""
        for task_id in task_ids:
            self._seen.pop(task_id, None)
