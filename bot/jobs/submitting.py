"""Starting jobs at the provider: claim a batch, submit it, record each outcome.

Back-pressure (``ProviderBusy``, code 23) puts the job back at the head of its line with
nothing charged and pauses dispatch for ``busy_delay``; a network failure
(``ProviderUnavailable``) does the same with exponential back-off until the job has used
``max_attempts`` submissions, then fails it with a refund. A submit that may have reached
the provider unanswered (``SubmitOutcomeUnknown``) is never simply sent again: the job stays
``submitting`` in its slot until ``settle_unknown`` finds its task by state, or the provider,
asked after the submit's window has closed, has none (see ``bot.jobs.unsettled``). Any other
refusal fails the job at once, with a refund.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.errors import (
    FailureKind,
    ProviderBusy,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    SubmitOutcomeUnknown,
)
from bot.jobs.claiming import Claims, parents_of
from bot.jobs.inflight import InFlight
from bot.jobs.parts import Parts
from bot.model import Job, JobEvent, JobKind, JobState
from bot.observability.logging import job_context
from bot.providers.base import ActionRequest, ImagineRequest, Submission, TaskState
from bot.store.database import Transaction

log = logging.getLogger(__name__)

Outcome = Submission | BaseException


class Submitter:
    """Takes picked jobs to the provider and records what it said."""

    def __init__(
        self,
        parts: Parts,
        *,
        max_attempts: int,
        retry_delay: float,
        max_retry_delay: float,
        busy_delay: float,
    ) -> None:
        self._p = parts
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self._busy_delay = busy_delay
        self.paused_until = 0.0
        self._claims = Claims(parts)

    async def request(self, job: Job, parent: Job | None) -> Submission:
        """Ask the provider to start this job (a reroll is a new grid with its new seed)."""
        with job_context(job.id):
            return await self._request(job, parent)

    async def _request(self, job: Job, parent: Job | None) -> Submission:
        if job.action is None or job.kind is JobKind.REROLL:
            return await self._p.provider.submit_imagine(
                ImagineRequest(job_id=job.id, prompt=job.prompt, speed=job.speed)
            )
        if parent is None or parent.provider_task_id is None:
            raise ProviderRejected(
                "The original image is no longer available.", kind=FailureKind.PARENT_EXPIRED
            )
        return await self._p.provider.submit_action(
            ActionRequest(
                job_id=job.id,
                parent_task_id=parent.provider_task_id,
                parent_buttons=parent.provider_buttons,
                action=job.action,
                index=job.action_index,
                speed=job.speed,
                prompt=job.prompt,
            )
        )

    async def parents_of(self, tx: Transaction, jobs: Sequence[Job]) -> dict[int, Job]:
        """The parent records the action jobs need, by id."""
        return await parents_of(self._p.repo, tx, jobs)

    async def dispatch(self) -> bool:
        """Start as many jobs as there are free slots; whether any was picked."""
        now = self._p.clock()
        if now < self.paused_until or self._p.provider.circuit_open or not self._p.slots.free:
            return False
        picked = await self._claims.take(now)
        if picked is None:
            return False
        claimed, parents = picked
        flights = [self._p.slots.occupy(entry, now=now) for _, entry in claimed]
        outcomes = await asyncio.gather(
            *(self.request(job, self._parent(job, parents)) for job, _ in claimed),
            return_exceptions=True,
        )
        await self._record([job for job, _ in claimed], flights, outcomes)
        return True

    @staticmethod
    def _parent(job: Job, parents: dict[int, Job]) -> Job | None:
        return None if job.parent_id is None else parents.get(job.parent_id)

    async def _record(
        self, jobs: list[Job], flights: list[InFlight], outcomes: Sequence[Outcome]
    ) -> None:
        now = self._p.clock()
        events: list[JobEvent] = []
        requeued: list[InFlight] = []
        accepted: dict[int, InFlight] = {}
        # New tasks are attached before any code-21 answer is matched against the slots: the
        # twin an "existing" answer names may be a job later in this same round.
        rows = sorted(
            zip(jobs, flights, outcomes, strict=True),
            key=lambda row: isinstance(row[2], Submission) and row[2].existing,
        )
        async with self._p.db.transaction() as tx:
            for job, flight, outcome in rows:
                if isinstance(outcome, SubmitOutcomeUnknown):
                    # The provider may accept it yet: it keeps its slot until that is settled.
                    self._p.unsettled.hold(job.id, since=flight.started_at, now=now)
                    continue
                if isinstance(outcome, Submission):
                    twin = self._p.slots.by_task(outcome.task_id) if outcome.existing else None
                    if twin is None:
                        self._p.slots.attach(flight, outcome.task_id)
                        accepted[job.id] = flight
                        continue
                    # Code 21: the provider handed back another job's task. One task, one job.
                    outcome = ProviderRejected(
                        f"The same image is already being made as job #{twin.job_id}.",
                        kind=FailureKind.INVALID_REQUEST,
                    )
                delay = self._retry_after(job, outcome)
                if delay is not None:
                    back = await self._p.repo.transition(
                        tx, job.id, JobState.SUBMITTING, JobState.QUEUED, now=now
                    )
                    if back is not None:
                        events.append(JobEvent(kind="queued", job=back))
                        requeued.append(flight)
                    else:
                        self._p.slots.release(flight)
                    self.paused_until = max(self.paused_until, now + delay)
                    continue
                self._p.slots.release(flight)
                kind, message = self._failure(outcome)
                failed = await self._p.settler.fail_in(
                    tx, job.id, JobState.SUBMITTING, kind, message
                )
                if failed is not None:
                    events.append(JobEvent(kind="failed", job=failed))
            # Every accepted job starts in one statement.
            started = await self._p.repo.start_many(
                tx,
                {
                    job.id: (outcome.task_id, outcome.queue_position)
                    for job, outcome in zip(jobs, outcomes, strict=True)
                    if isinstance(outcome, Submission) and job.id in accepted
                },
                now=now,
            )
        events.extend(JobEvent(kind="started", job=job) for job in started)
        # A job cancelled while its submission was under way: stop its provider task.
        moved = {job.id for job in started}
        orphans = [flight for job_id, flight in accepted.items() if job_id not in moved]
        for flight in orphans:
            flight.abandoned = True
        # Back to the head of their lines, in reverse so their order is kept.
        for flight in reversed(requeued):
            self._p.slots.requeue(flight)
        for event in events:
            self._p.events.publish(event)
        for flight in orphans:
            await self.stop(flight)

    async def settle_unknown(self) -> bool:
        """Ask the provider about the unanswered submits now due; whether any was settled."""
        now = self._p.clock()
        found: dict[int, TaskState] = {}
        absent: list[int] = []
        given_up: list[int] = []
        for job_id in self._p.unsettled.due(now):
            try:
                task = await self._p.provider.find_by_state(str(job_id))
            except ProviderError as exc:
                log.warning("could not look up job %s at the provider: %s", job_id, exc.message)
                if self._gives_up(job_id, now):
                    given_up.append(job_id)
                    continue
                task, closed = None, False
            else:
                closed = self._p.unsettled.window_closed(job_id, now)
            if task is not None:
                found[job_id] = task
            elif closed:
                absent.append(job_id)
            else:
                self._p.unsettled.later(job_id, now=now)
        if not found and not absent and not given_up:
            return False
        for job_id in [*found, *absent, *given_up]:
            self._p.unsettled.drop(job_id)
        events: list[JobEvent] = []
        requeued: list[InFlight] = []
        orphans: list[InFlight] = []
        async with self._p.db.transaction() as tx:
            started = await self._p.repo.start_many(
                tx,
                {job_id: (task.task_id, task.queue_position) for job_id, task in found.items()},
                now=now,
            )
            events.extend(JobEvent(kind="started", job=job) for job in started)
            moved = {job.id for job in started}
            for job_id, task in found.items():
                if (flight := self._p.slots.get(job_id)) is not None:
                    self._p.slots.attach(flight, task.task_id)
                    if job_id not in moved:
                        orphans.append(flight)  # cancelled while its submit was unanswered
            for job in await self._p.repo.get_many(tx, absent):
                if (flight := self._p.slots.get(job.id)) is not None:
                    await self._resend(tx, job, flight, now, events, requeued)
            for job_id in given_up:
                await self._give_up(tx, job_id, events)
        for flight in reversed(requeued):
            self._p.slots.requeue(flight)
        for event in events:
            self._p.events.publish(event)
        for flight in orphans:
            await self.stop(flight)
        return True

    def _gives_up(self, job_id: int, now: float) -> bool:
        """Whether to stop waiting for a provider that cannot be asked about this job."""
        flight = self._p.slots.get(job_id)
        if flight is not None and flight.abandoned:
            # Cancelled and refunded already: only its slot is left, free once no late
            # acceptance is possible any more.
            return self._p.unsettled.window_closed(job_id, now)
        return self._p.unsettled.overdue(job_id, now)

    async def _give_up(self, tx: Transaction, job_id: int, events: list[JobEvent]) -> None:
        if (flight := self._p.slots.get(job_id)) is not None:
            self._p.slots.release(flight)
        log.warning("the provider could not be asked about job %s for too long: failing it", job_id)
        failed = await self._p.settler.fail_in(
            tx,
            job_id,
            JobState.SUBMITTING,
            FailureKind.UNAVAILABLE,
            "The image provider never confirmed this job and could not be asked about it; "
            "nothing was charged.",
        )
        if failed is not None:
            events.append(JobEvent(kind="failed", job=failed))

    async def _resend(
        self,
        tx: Transaction,
        job: Job,
        flight: InFlight,
        now: float,
        events: list[JobEvent],
        requeued: list[InFlight],
    ) -> None:
        """The provider provably never took this job: back to the head of its line."""
        if job.state is JobState.SUBMITTING and job.attempts < self._max_attempts:
            log.warning("the provider has no task for job %s: submitting it again", job.id)
            back = await self._p.repo.transition(
                tx, job.id, JobState.SUBMITTING, JobState.QUEUED, now=now
            )
            if back is not None:
                events.append(JobEvent(kind="queued", job=back))
                requeued.append(flight)
                return
        self._p.slots.release(flight)
        if job.state is JobState.SUBMITTING:
            kind, message = self._failure(ProviderUnavailable(""))
            failed = await self._p.settler.fail_in(tx, job.id, JobState.SUBMITTING, kind, message)
            if failed is not None:
                events.append(JobEvent(kind="failed", job=failed))

    def _retry_after(self, job: Job, outcome: BaseException) -> float | None:
        if isinstance(outcome, ProviderBusy):
            return self._busy_delay
        if isinstance(outcome, ProviderUnavailable) and job.attempts < self._max_attempts:
            return float(min(self._max_retry_delay, self._retry_delay * 2 ** (job.attempts - 1)))
        return None

    def _failure(self, outcome: BaseException) -> tuple[FailureKind, str]:
        if isinstance(outcome, ProviderUnavailable):
            return outcome.kind, (
                f"The image provider could not be reached after {self._max_attempts} attempts."
            )
        if isinstance(outcome, ProviderError):
            return outcome.kind, outcome.message
        log.error("unexpected error submitting a job", exc_info=outcome)
        return FailureKind.PROVIDER_ERROR, "Something went wrong starting this job."

    async def stop(self, flight: InFlight) -> None:
        """Stop a cancelled job's provider task where supported, freeing its slot."""
        flight.abandoned = True
        if flight.task_id is None or not self._p.provider.capabilities.cancel:
            return  # the slot stays held until the provider reports the task finished
        try:
            stopped = await self._p.provider.cancel(flight.task_id)
        except ProviderError as exc:
            log.warning("could not cancel task %s: %s", flight.task_id, exc.message)
            return
        if stopped:
            self._p.slots.release(flight)
