"""How jobs end: failures and cancellations refunded, results delivered and only then charged.

A finished task is handed to the ``Deliverer`` outside any provider slot. Only when delivery
succeeds does the job become ``succeeded`` and its reservation get committed, in one
transaction; a crash in between leaves the job ``running`` with a finished provider task, so
recovery delivers it again and the charge still happens once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.errors import FailureKind
from bot.jobs.delivery import Deliverer, DeliveryFailed
from bot.jobs.events import JobEvents
from bot.model import Job, JobEvent, JobState
from bot.providers.base import TaskState
from bot.quota import QuotaService
from bot.store.database import Database, Transaction
from bot.store.jobs import JobRepository

log = logging.getLogger(__name__)

_Delivered = tuple[int, TaskState, int | None, "asyncio.Future[bool]"]


def result_urls(task: TaskState) -> tuple[str, ...]:
    """The task's result images, the grid image alone when no split images are given."""
    if task.image_urls:
        return task.image_urls
    return (task.image_url,) if task.image_url else ()


class Settler:
    """Ends jobs: fail or cancel with a refund, deliver then succeed with a charge."""

    def __init__(
        self,
        db: Database,
        repo: JobRepository,
        quota: QuotaService,
        events: JobEvents,
        deliverer: Deliverer,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        delivery_attempts: int = 3,
        delivery_backoff: float = 2.0,
    ) -> None:
        self._db = db
        self._repo = repo
        self._quota = quota
        self._events = events
        self._deliverer = deliverer
        self._clock = clock
        self._sleep = sleep
        self._attempts = delivery_attempts
        self._backoff = delivery_backoff
        self._delivered: list[_Delivered] = []
        self._flushing = False
        self.may_post: Callable[[], bool] = lambda: True
        """The dispatcher's fence: checked right before each post (the dispatch lease)."""

    async def fail_in(
        self,
        tx: Transaction,
        job_id: int,
        source: JobState,
        kind: FailureKind,
        message: str,
    ) -> Job | None:
        """Fail a job and refund it inside ``tx``; None when it had already moved on."""
        job = await self._repo.transition(
            tx,
            job_id,
            source,
            JobState.FAILED,
            now=self._clock(),
            failure_kind=kind,
            failure_message=message,
        )
        if job is not None:
            await self._quota.refund(tx, job_id=job_id, reason=f"job failed: {kind.value}")
        return job

    async def cancel_in(self, tx: Transaction, job_id: int, message: str) -> Job | None:
        """Cancel a running job (the provider cancelled its task) and refund it."""
        job = await self._repo.transition(
            tx,
            job_id,
            JobState.RUNNING,
            JobState.CANCELLED,
            now=self._clock(),
            failure_message=message,
        )
        if job is not None:
            await self._quota.refund(tx, job_id=job_id, reason="cancelled at the provider")
        return job

    async def fail(self, job_id: int, source: JobState, kind: FailureKind, message: str) -> None:
        """``fail_in`` in its own transaction, then announce it."""
        async with self._db.transaction() as tx:
            job = await self.fail_in(tx, job_id, source, kind, message)
        if job is not None:
            self._events.publish(JobEvent(kind="failed", job=job))

    async def deliver(self, job: Job, task: TaskState) -> None:
        """Post a finished task's result, retrying a bounded number of times, then settle."""
        for attempt in range(1, self._attempts + 1):
            if attempt > 1:
                async with self._db.transaction() as tx:
                    current = await self._repo.get(tx, job.id)
                if current is None or current.state is not JobState.RUNNING:
                    return  # cancelled meanwhile: the result is ignored
                job = current
            if not self.may_post():
                # This process may have lost the dispatch lease: the job stays running for
                # the process that holds it now, whose recovery posts it once.
                log.warning("job %s not posted: this process may no longer dispatch", job.id)
                return
            try:
                message_id = await self._deliverer.deliver(job, task)
            except DeliveryFailed as exc:
                if exc.retryable and attempt < self._attempts:
                    await self._sleep(self._backoff * 2 ** (attempt - 1))
                    continue
                await self.fail(
                    job.id,
                    JobState.RUNNING,
                    FailureKind.DELIVERY,
                    f"The image was made but could not be posted: {exc.message}",
                )
                return
            await self._record_delivery(job, task, message_id)
            return

    async def _record_delivery(self, job: Job, task: TaskState, message_id: int | None) -> None:
        """``_succeed``, once more if the store fails; never a failure once the image is up.

        The member has the image, so a lost commit must not refund it: after a second failure
        the job stays running with its credits held and recovery delivers it again.
        """
        try:
            stands = await self._succeed(job.id, task, message_id)
        except Exception:
            log.warning("recording job %s as delivered failed; trying once more", job.id)
            await self._sleep(self._backoff)
            try:
                stands = await self._succeed(job.id, task, message_id)
            except Exception:
                log.exception("job %s was posted but not recorded; recovery delivers it", job.id)
                return
        if not stands and message_id is not None:
            # Cancelled (and refunded) while the image was uploading: no image, no buttons.
            await self._retract(job, message_id)

    async def _retract(self, job: Job, message_id: int) -> None:
        try:
            await self._deliverer.retract(job, message_id)
        except Exception:
            log.exception("could not take down the result of cancelled job %s", job.id)

    async def _succeed(self, job_id: int, task: TaskState, message_id: int | None) -> bool:
        """Mark delivered and charge, batched; whether the job stands succeeded (not cancelled)."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._delivered.append((job_id, task, message_id, done))
        if not self._flushing:
            self._flushing = True
            try:
                while self._delivered:
                    batch, self._delivered = self._delivered, []
                    await self._commit(batch)
            finally:
                self._flushing = False
        return await done

    async def _commit(self, batch: list[_Delivered]) -> None:
        try:
            async with self._db.transaction() as tx:
                delivered = await self._repo.transition_each(
                    tx,
                    {
                        job_id: {
                            "progress": 100,
                            "result_urls": result_urls(task),
                            "provider_buttons": task.buttons,
                            "result_message_id": message_id,
                        }
                        for job_id, task, message_id, _ in batch
                    },
                    JobState.RUNNING,
                    JobState.SUCCEEDED,
                    now=self._clock(),
                )
                await self._quota.commit_many(tx, [job.id for job in delivered])
                stands = {job.id for job in delivered}
                if unmoved := [entry[0] for entry in batch if entry[0] not in stands]:
                    # Already succeeded (an earlier commit) stands; cancelled meanwhile does not.
                    stands.update(
                        job.id
                        for job in await self._repo.get_many(tx, unmoved)
                        if job.state is JobState.SUCCEEDED
                    )
        except Exception as exc:
            # Their jobs stay running with finished tasks, so recovery delivers them again.
            for *_, waiter in batch:
                if not waiter.done():  # a waiter whose task was cancelled is done already
                    waiter.set_exception(exc)
            return
        except BaseException:
            for *_, waiter in [*batch, *self._delivered]:
                waiter.cancel()
            self._delivered = []
            raise
        for job in delivered:
            self._events.publish(JobEvent(kind="succeeded", job=job))
        for job_id, *_, waiter in batch:
            if not waiter.done():
                waiter.set_result(job_id in stands)
