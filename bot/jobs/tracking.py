"""Following tasks at the provider: batched polls, webhook pushes, the watchdog.

All in-flight tasks are polled with ONE ``fetch_many`` per tick. A task the provider no
longer knows is resubmitted once if it never started, else the job fails with a refund. A
task whose progress has not changed for ``stall_timeout`` of answered polls (an outage
does not count), or that has run longer than ``job_timeout``, is cancelled at the provider
where supported and failed with a refund.
Finished tasks leave their slot at once and go to delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from bot.errors import FailureKind, ProviderError
from bot.jobs.inflight import InFlight
from bot.jobs.parts import Parts
from bot.jobs.submitting import Submitter
from bot.model import Job, JobEvent, JobState
from bot.providers.base import TaskState, TaskStatus
from bot.store.database import Transaction

log = logging.getLogger(__name__)

Deliver = Callable[[Job, TaskState], None]
"""Start delivering a finished task (its job, final task state) outside the slot."""


def _duration(seconds: float) -> str:
    if seconds % 60:
        return f"{seconds:g} seconds"
    minutes = int(seconds // 60)
    return f"{minutes} minute" + ("" if minutes == 1 else "s")


class Tracker:
    """Applies what the provider says about in-flight tasks to jobs."""

    def __init__(self, parts: Parts, submitter: Submitter, *, deliver: Deliver) -> None:
        self._p = parts
        self._submitter = submitter
        self._deliver = deliver
        self._outage_end: float | None = None
        """When the last failed poll gave up, while no poll has been answered since."""

    async def poll(self) -> bool:
        """Fetch every tracked task at once and apply the answers; whether anything changed."""
        task_ids = self._p.slots.task_ids()
        if not task_ids:
            return False
        asked_at = self._p.clock()
        try:
            states = await self._p.provider.fetch_many(task_ids)
        except ProviderError as exc:
            log.warning("status poll failed: %s", exc.message)
            # The outage runs from this poll's start (the interval before it was answered),
            # or from the previous failure, to now: the failing fetch's own retries included.
            gave_up_at = self._p.clock()
            since = asked_at if self._outage_end is None else self._outage_end
            self._stop_stall_clocks(since=since, until=gave_up_at)
            self._outage_end = gave_up_at
            return False
        self._outage_end = None
        return await self.apply(task_ids, states)

    async def refresh(self, task_id: str) -> bool:
        """Read one tracked task from the provider and apply it (a push named it).

        Nothing of the push itself is trusted: an untracked id costs no provider call, and a
        task the provider does not return (or returns for another job) is left to polling.
        """
        flight = self._p.slots.by_task(task_id)
        if flight is None:
            log.info("push for task %s, which this bot is not tracking: ignored", task_id)
            return False
        try:
            states = await self._p.provider.fetch_many([task_id])
        except ProviderError as exc:
            log.warning("could not read pushed task %s: %s", task_id, exc.message)
            return False
        state = states.get(task_id)
        if state is None or (state.state is not None and state.state != str(flight.job_id)):
            return False
        return await self.apply([task_id], {task_id: state})

    def _stop_stall_clocks(self, *, since: float, until: float) -> None:
        """Time without an answer is not time without progress: the watchdog skips it."""
        for flight in self._p.slots:
            flight.changed_at += until - max(flight.changed_at, since)

    async def apply(self, task_ids: Iterable[str], states: Mapping[str, TaskState]) -> bool:
        """Apply task states (a poll, or one webhook push); absent ids were forgotten."""
        changed = False
        events: list[JobEvent] = []
        forgotten: list[InFlight] = []
        finished: dict[int, TaskState] = {}
        async with self._p.db.transaction() as tx:
            for task_id in task_ids:
                flight = self._p.slots.by_task(task_id)
                if flight is None:
                    continue
                state = states.get(task_id)
                if state is None:
                    changed = True
                    if flight.abandoned:
                        self._p.slots.release(flight)
                    elif not flight.began and not flight.resubmitted:
                        forgotten.append(flight)
                    else:
                        await self._fail(
                            tx,
                            flight,
                            FailureKind.PROVIDER_ERROR,
                            "The image provider lost track of this job.",
                            events,
                        )
                    continue
                if state.status is TaskStatus.SUCCESS and not flight.abandoned:
                    self._p.slots.release(flight)
                    finished[flight.job_id] = state
                    changed = True
                    continue
                changed |= await self._track(tx, flight, state, events)
            # Read the finished jobs here, in one query, rather than one transaction each.
            done = await self._p.repo.get_many(tx, list(finished))
            # Their tasks ended: posting them takes no slot at the provider any more.
            await self._p.repo.leave_provider(tx, list(finished))
        self._publish(events)
        for job in done:
            if job.state is JobState.RUNNING:
                self._deliver(job, finished[job.id])
        for flight in forgotten:
            await self._resubmit(flight)
        return changed

    async def _track(
        self, tx: Transaction, flight: InFlight, state: TaskState, events: list[JobEvent]
    ) -> bool:
        if flight.abandoned:
            return self._p.slots.release(flight) if state.terminal else self._moved(flight, state)
        if state.status is TaskStatus.FAILURE:
            message = state.failure_message or "The image provider could not make this image."
            await self._fail(
                tx, flight, state.failure_kind or FailureKind.PROVIDER_ERROR, message, events
            )
            return True
        if state.status is TaskStatus.CANCEL:
            self._p.slots.release(flight)
            job = await self._p.settler.cancel_in(tx, flight.job_id, "Cancelled at the provider.")
            if job is not None:
                events.append(JobEvent(kind="cancelled", job=job))
            return True
        if not self._moved(flight, state):
            return False
        job = await self._p.repo.update_running(
            tx,
            flight.job_id,
            now=flight.changed_at,
            progress=state.progress,
            preview_url=state.preview_url,
            queue_position=state.queue_position,
        )
        if job is not None:
            events.append(JobEvent(kind="progress", job=job))
        return True

    def _moved(self, flight: InFlight, state: TaskState) -> bool:
        """Note a change in the task's status, progress or preview; whether there was one."""
        seen = (state.status, state.progress, state.preview_url)
        if seen == (flight.status, flight.progress, flight.preview_url):
            return False
        flight.status, flight.progress, flight.preview_url = seen
        flight.changed_at = self._p.clock()
        flight.began |= state.status is TaskStatus.IN_PROGRESS or state.progress > 0
        return True

    async def _fail(
        self,
        tx: Transaction,
        flight: InFlight,
        kind: FailureKind,
        message: str,
        events: list[JobEvent],
    ) -> None:
        self._p.slots.release(flight)
        job = await self._p.settler.fail_in(tx, flight.job_id, JobState.RUNNING, kind, message)
        if job is not None:
            events.append(JobEvent(kind="failed", job=job))

    async def _resubmit(self, flight: InFlight) -> None:
        old_task_id = flight.task_id
        async with self._p.db.transaction() as tx:
            job = await self._p.repo.get(tx, flight.job_id)
            parents = await self._submitter.parents_of(tx, [job] if job else [])
        if job is None or job.state is not JobState.RUNNING or old_task_id is None:
            self._p.slots.release(flight)
            return
        log.warning("provider forgot task %s of job %s; submitting again", old_task_id, job.id)
        try:
            submission = await self._submitter.request(
                job, parents.get(job.parent_id) if job.parent_id else None
            )
        except ProviderError as exc:
            self._p.slots.release(flight)
            await self._p.settler.fail(
                job.id,
                JobState.RUNNING,
                exc.kind,
                f"The image provider lost this job and refused it again: {exc.message}",
            )
            return
        async with self._p.db.transaction() as tx:
            moved = await self._p.repo.replace_task(
                tx,
                job.id,
                old_task_id=old_task_id,
                new_task_id=submission.task_id,
                now=self._p.clock(),
            )
        self._p.slots.attach(flight, submission.task_id)
        flight.resubmitted = True
        flight.progress, flight.status, flight.changed_at = -1, None, self._p.clock()
        if moved is None:
            await self._submitter.stop(flight)

    async def watchdog(self) -> bool:
        """Fail tasks that stalled or ran too long; whether any was stopped."""
        now = self._p.clock()
        expired: list[tuple[InFlight, str]] = []
        for flight in self._p.slots:
            if flight.task_id is None:
                continue
            stalled = now - flight.changed_at > self._p.settings.stall_timeout
            if flight.abandoned:
                if stalled:
                    self._p.slots.release(flight)  # the provider never let go: stop waiting
                continue
            if stalled:
                expired.append(
                    (
                        flight,
                        f"It made no progress for {_duration(self._p.settings.stall_timeout)}.",
                    )
                )
            elif now - flight.started_at > self._p.settings.job_timeout:
                expired.append(
                    (flight, f"It ran longer than {_duration(self._p.settings.job_timeout)}.")
                )
        if not expired:
            return False
        for flight, _ in expired:
            await self._submitter.stop(flight)
        events: list[JobEvent] = []
        async with self._p.db.transaction() as tx:
            for flight, reason in expired:
                await self._fail(
                    tx, flight, FailureKind.TIMEOUT, f"The job was stopped: {reason}", events
                )
        self._publish(events)
        return True

    def _publish(self, events: list[JobEvent]) -> None:
        for event in events:
            self._p.events.publish(event)
