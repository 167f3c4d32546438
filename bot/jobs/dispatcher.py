"""The dispatcher: one owned asyncio task that starts, tracks and finishes jobs.

Each round it takes in newly queued jobs, polls the provider for every in-flight task with
one ``fetch_many``, runs the watchdog, then fills free provider slots in the order the
``FairScheduler`` policy gives. Finished tasks are delivered by separate owned tasks, outside
the slots. ``drain()`` runs rounds in the caller's task until nothing changes, which makes
tests and benchmarks deterministic; ``start()`` runs them in the background instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.errors import FailureKind
from bot.jobs.delivery import Deliverer
from bot.jobs.events import JobEvents
from bot.jobs.inflight import Slots
from bot.jobs.parts import Parts
from bot.jobs.policy import FairScheduler, Limits
from bot.jobs.recovery import Recovery, RecoveryReport, entry_of, load_limits
from bot.jobs.service import JobService
from bot.jobs.settle import Settler
from bot.jobs.shared_queue import SharedQueue
from bot.jobs.submitting import Submitter
from bot.jobs.tracking import Tracker
from bot.jobs.unsettled import UnsettledSubmits
from bot.model import Job, JobState, SpeedMode
from bot.observability.logging import job_context
from bot.providers.base import ImageProvider, TaskState
from bot.quota import QuotaService
from bot.settings import ProviderSettings, SchedulerSettings
from bot.store.database import Database
from bot.store.guild_config import GuildConfigRepository
from bot.store.jobs import PendingJob

log = logging.getLogger(__name__)


class Dispatcher:
    """Runs jobs at the provider within its slots, fairly, and finishes every one of them."""

    def __init__(
        self,
        db: Database,
        jobs: JobService,
        provider: ImageProvider,
        quota: QuotaService,
        deliverer: Deliverer,
        scheduler: SchedulerSettings,
        provider_settings: ProviderSettings,
        *,
        events: JobEvents,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        guild_config: GuildConfigRepository | None = None,
        max_submit_attempts: int = 5,
        retry_delay: float = 2.0,
        max_retry_delay: float = 60.0,
        busy_delay: float = 5.0,
        delivery_attempts: int = 3,
        delivery_grace: float = 10.0,
    ) -> None:
        self._db = db
        self._repo = jobs.repository
        self._provider = provider
        self._settings = scheduler
        self._poll_interval = provider_settings.poll_interval
        self._clock = clock
        self._sleep = sleep
        self._guilds = guild_config or GuildConfigRepository(db, clock=clock)
        self.policy = FairScheduler(
            default_limits=Limits(scheduler.max_running_per_user, scheduler.max_running_per_guild),
            relax_share=scheduler.relax_share,
        )
        limit = provider.capabilities.max_in_flight
        slots = (
            provider_settings.max_concurrency
            if limit is None
            else min(limit, provider_settings.max_concurrency)
        )
        self.slots = Slots(slots, self.policy)
        self._settler = Settler(
            db,
            self._repo,
            quota,
            events,
            deliverer,
            clock=clock,
            sleep=sleep,
            delivery_attempts=delivery_attempts,
        )
        self._parts = Parts(
            db=db,
            repo=self._repo,
            provider=provider,
            settler=self._settler,
            events=events,
            slots=self.slots,
            policy=self.policy,
            settings=scheduler,
            clock=clock,
            # A submit may be served until its own time limit has passed; as long again is
            # the margin for a provider that finishes a request its client gave up on.
            unsettled=UnsettledSubmits(
                window=2 * provider_settings.request_timeout,
                first_delay=retry_delay,
                max_delay=max_retry_delay,
                # A provider that cannot even be asked for this long: fail and refund.
                give_up_after=max(scheduler.job_timeout, 2 * provider_settings.request_timeout),
            ),
        )
        self._submitter = Submitter(
            self._parts,
            max_attempts=max_submit_attempts,
            retry_delay=retry_delay,
            max_retry_delay=max_retry_delay,
            busy_delay=busy_delay,
        )
        self._tracker = Tracker(self._parts, self._submitter, deliver=self._start_delivery)
        self._deliveries: set[asyncio.Task[None]] = set()
        self._cancels: set[asyncio.Task[None]] = set()
        # Set by stop(): a late webhook push must not start work that nobody will wait for.
        self._stopping = False
        self._delivery_grace = delivery_grace
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._dirty = True
        self._high_water = 0
        self._recovered = False
        self._last_poll = float("-inf")
        self._loop_task: asyncio.Task[None] | None = None
        self._fence: Callable[[], bool] = lambda: True
        jobs.attach(self)

    # --- lifecycle ------------------------------------------------------------------------

    def own_as(self, owner: str, *, endpoint: str, limit: int) -> None:
        """Dispatch beside other processes: claim jobs as ``owner``.

        At most ``limit`` jobs run at ``endpoint`` over them all. Called before ``start``:
        recovery then takes only orphaned jobs, not those of the processes still running.
        """
        ownership = self._parts.ownership
        ownership.owner, ownership.endpoint, ownership.limit = owner, endpoint, limit
        if self._db.engine == "postgresql":
            # The policy's state in the database: fair over every process, not within each.
            ownership.queue = SharedQueue(
                self._repo,
                Limits(self._settings.max_running_per_user, self._settings.max_running_per_guild),
                relax_share=self._settings.relax_share,
            )
            self.policy.count_only()

    async def adopt(self, jobs: list[PendingJob]) -> None:
        """Take over a silent process's jobs, already made this one's in the database."""
        async with self._lock:
            await Recovery(self._parts, self._guilds).adopt(jobs)
        self.wake()

    def use_fence(self, fence: Callable[[], bool]) -> None:
        """Post results only while ``fence()`` holds (the dispatch lease, by its own clock).

        A process that lost the lease may not know it yet; refusing to post then leaves the
        job running in the database for the process that took over.
        """
        self._fence = fence
        self._settler.may_post = fence

    async def recover(self) -> RecoveryReport:
        """Rebuild the queue and the slots from the database (once per dispatcher)."""
        async with self._lock:
            report = await Recovery(self._parts, self._guilds).run()
            self._high_water = max(self._high_water, report.last_job_id)
            self._recovered = True
        return report

    async def start(self) -> None:
        """Recover, then run the dispatch loop as an owned task."""
        if self._loop_task is not None:
            return
        self._stopping = False
        if not self._recovered:
            await self.recover()
        self._loop_task = asyncio.create_task(self._run(), name="tessera-dispatcher")

    async def stop(self, *, grace: float | None = None) -> None:
        """Stop the loop, let deliveries under way finish within a bound, then cancel them.

        A delivery cut off between posting its result and committing it would be posted
        again after a restart, so each gets ``grace`` seconds first (``delivery_grace``);
        none when the dispatch lease is lost, as another process delivers them now.
        In-flight jobs stay ``running`` in the database.
        """
        grace = self._delivery_grace if grace is None else grace
        self._stopping = True
        if self._loop_task is not None:
            loop_task, self._loop_task = self._loop_task, None
            loop_task.cancel()
            await asyncio.gather(loop_task, return_exceptions=True)
        if self._deliveries and grace > 0:
            await asyncio.wait(self._deliveries, timeout=grace)
        late = [*self._deliveries, *self._cancels]
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        self._deliveries.clear()
        self._cancels.clear()

    async def drain(self) -> None:
        """Run rounds here until nothing changes: idle, or waiting on the clock (tests)."""
        if not self._recovered:
            await self.recover()
        self._dirty = True
        while True:
            async with self._lock:
                changed = await self._round(force_poll=True)
            if self._deliveries:
                await asyncio.gather(*self._deliveries)
                changed = True
            if not changed:
                return

    def wake(self) -> None:
        """New work is waiting: look for it now rather than at the next tick."""
        self._dirty = True
        self._wake.set()

    async def notify(self, task: TaskState) -> None:
        """A pushed task update (webhook): a hint to read that task now; ignored once stopping.

        Anyone who can reach the receiver could post a push, so only its task id is used:
        a task this bot is not tracking is ignored, and a tracked one is read back from the
        provider, whose answer is what gets applied. While stopping, the job stays
        ``running``: the next start's polling brings it back.
        """
        if self._stopping:
            return
        async with self._lock:
            await self._tracker.refresh(task.task_id)
        self._wake.set()

    async def job_cancelled(self, job: Job) -> None:
        """The service cancelled a job: drop it from the queue or stop its provider task."""
        await self._forget(job.id)

    def cancelled_elsewhere(self, job_id: int) -> None:
        """Another process cancelled this job (a notification): as ``job_cancelled``."""
        if self._stopping:
            return
        stopping = asyncio.create_task(self._forget(job_id), name=f"cancel-{job_id}")
        self._cancels.add(stopping)
        stopping.add_done_callback(self._cancels.discard)

    async def _forget(self, job_id: int) -> None:
        self.policy.remove(job_id)
        flight = self.slots.get(job_id)
        # Abandoned: already stopped (a "run" process hears its own cancel notification too).
        if flight is not None and not flight.abandoned:
            await self._submitter.stop(flight)
            self._wake.set()

    @property
    def in_flight(self) -> int:
        """Jobs holding provider slots."""
        return len(self.slots)

    @property
    def waiting(self) -> int:
        """Jobs waiting for a slot (over every process, as last counted, when they share)."""
        return sum(self.waiting_by_speed().values())

    def waiting_by_speed(self) -> dict[SpeedMode, int]:
        """Jobs waiting for a slot in each speed class."""
        shared = self._parts.ownership.queue
        return dict(shared.depth) if shared is not None else self.policy.waiting_by_speed()

    @property
    def idle(self) -> bool:
        """Nothing waits, nothing is in flight, nothing is being delivered."""
        return not self.policy.waiting and not self.slots and not self._deliveries

    # --- the rounds -----------------------------------------------------------------------

    async def _round(self, *, force_poll: bool) -> bool:
        if not self._fence():
            return False  # no submit, no poll: the lease may be another process's now
        changed = await self._load_new()
        now = self._clock()
        if force_poll or now - self._last_poll >= self._interval():
            self._last_poll = now
            changed |= await self._tracker.poll()
        changed |= await self._tracker.watchdog()
        if not self._fence():
            return changed  # the lease lapsed during the poll: submit nothing
        changed |= await self._submitter.settle_unknown()
        if not self._fence():
            return changed
        changed |= await self._submitter.dispatch()
        if (shared := self._parts.ownership.queue) is not None:
            await shared.count(self._db, now)  # the metrics' queue depth, not the claims'
        return changed

    async def _load_new(self) -> bool:
        if not self._dirty:
            return False
        self._dirty = False
        if self._parts.ownership.queue is not None:
            return True  # the claim reads the shared queue itself: nothing to load here
        async with self._db.transaction() as tx:
            fresh = await self._repo.queued_after(tx, self._high_water)
            await load_limits(
                tx, self._guilds, self._settings, self.policy, {job.guild_id for job in fresh}
            )
        for job in fresh:
            self.policy.add(entry_of(job))
            self._high_water = max(self._high_water, job.id)
        return bool(fresh)

    def _interval(self) -> float:
        suggested = self._provider.suggested_poll_interval
        return min(suggested, self._poll_interval) if suggested > 0 else self._poll_interval

    async def _run(self) -> None:
        while True:
            try:
                async with self._lock:
                    await self._round(force_poll=False)
            except Exception:
                log.exception("dispatcher round failed; retrying at the next tick")
            await self._idle()

    async def _idle(self) -> None:
        delay = self._interval()
        now = self._clock()
        paused = self._submitter.paused_until - now
        if paused > 0:
            delay = min(delay, paused)
        look = self._parts.unsettled.next_due()
        if look is not None:
            delay = max(0.0, min(delay, look - now))
        waker = asyncio.ensure_future(self._wake.wait())
        sleeper = asyncio.ensure_future(self._sleep(delay))
        try:
            await asyncio.wait({waker, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Cleared before any other await, so a wake() from now on starts the next round.
            self._wake.clear()
            for pending in (waker, sleeper):
                pending.cancel()
            # wait(), not a gather under suppress(CancelledError): that would swallow stop()'s
            # cancellation arriving right here and keep the loop running.
            await asyncio.wait({waker, sleeper})
        if sleeper.done() and not sleeper.cancelled():
            self._dirty = True  # another process may have queued jobs

    def _start_delivery(self, job: Job, task: TaskState) -> None:
        if self._stopping:
            return  # still running in the database: recovery delivers it after the restart
        delivery = asyncio.create_task(self._deliver(job, task), name=f"deliver-{job.id}")
        self._deliveries.add(delivery)
        delivery.add_done_callback(self._deliveries.discard)

    async def _deliver(self, job: Job, task: TaskState) -> None:
        # Its own task: every line logged while delivering (download, Discord) names the job.
        with job_context(job.id):
            try:
                await self._settler.deliver(job, task)
            except Exception:
                # Its slot is gone and no poll will bring it back: fail it now, with a refund,
                # rather than leave it running and its credits reserved until a restart.
                log.exception("delivery of job %s failed", job.id)
                await self._fail_delivery(job)
            finally:
                self._wake.set()

    async def _fail_delivery(self, job: Job) -> None:
        try:
            await self._settler.fail(
                job.id,
                JobState.RUNNING,
                FailureKind.DELIVERY,
                "The image was made but something went wrong posting it.",
            )
        except Exception:
            # The store is failing too: the job stays running, so recovery delivers it.
            log.exception("could not fail job %s after its delivery failed", job.id)
