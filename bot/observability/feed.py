"""Job metrics from the job event stream: no database query at scrape time.

The feed remembers the state and speed of every unfinished job it has seen and keeps
``tessera_jobs{state}`` and ``tessera_queue_depth{speed}`` current by counting transitions, so
each event costs O(1) however long the queue is. Jobs that were already waiting when the
process started are counted from their first event after it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterable

from bot.observability.metrics import Metrics
from bot.store.job_models import JobEvent, JobState

_UNFINISHED = tuple(state.value for state in JobState if not state.terminal)


class JobMetricsFeed:
    """Turns job events into the job gauges and the finished-jobs counter."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._seen: dict[int, tuple[str, str]] = {}
        self._by_state: Counter[str] = Counter()
        self._queued_by_speed: Counter[str] = Counter()
        self._publish()

    def observe(self, event: JobEvent) -> None:
        """Account for one event (progress events change nothing here)."""
        job = event.job
        previous = self._seen.pop(job.id, None)
        if previous is not None:
            self._count(*previous, -1)
        if job.state.terminal:
            self._metrics.count_job_finished(job.state.value)
        else:
            current = (job.state.value, job.speed.value)
            self._seen[job.id] = current
            self._count(*current, 1)
        self._publish()

    async def follow(self, events: AsyncIterable[JobEvent]) -> None:
        """Observe every event until the stream ends (run it as an owned task)."""
        async for event in events:
            self.observe(event)

    def _count(self, state: str, speed: str, delta: int) -> None:
        self._by_state[state] += delta
        if state == JobState.QUEUED:
            self._queued_by_speed[speed] += delta

    def _publish(self) -> None:
        self._metrics.set_jobs_by_state({state: self._by_state[state] for state in _UNFINISHED})
        self._metrics.set_queue_depth(dict(self._queued_by_speed))
