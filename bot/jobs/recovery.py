"""Start-up recovery: rebuild the queue and the slots from the database.

Queued jobs wait again in their order; running jobs resume tracking by provider task id
(a task that finished while the bot was down is delivered on the next poll); ``submitting``
jobs, caught between the provider call and its commit, are matched back through the job id
the provider echoes as ``state``, or queued again at the head of their line when the
provider has no record once their submit can no longer be served late; until then (or while
the provider cannot be asked) they are held for the dispatcher to ask again
(``bot.jobs.unsettled``). Nothing is charged here, so nothing can be charged twice.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict

from bot.bulk import collector_paused
from bot.errors import FailureKind, ProviderError
from bot.jobs.entries import QueueEntry
from bot.jobs.lease import gone_from_this_host, is_worker
from bot.jobs.parts import Parts
from bot.jobs.policy import FairScheduler, Limits
from bot.model import JobState
from bot.providers.base import TaskState
from bot.settings import SchedulerSettings
from bot.store.database import Transaction
from bot.store.guild_config import GuildConfigRepository
from bot.store.jobs import JobRepository, PendingJob, WaitingJob
from bot.store.leases import LeaseRepository

log = logging.getLogger(__name__)


class RecoveryReport(BaseModel):
    """What recovery found."""

    model_config = ConfigDict(frozen=True)

    queued: int = 0
    running: int = 0
    matched: int = 0
    """``submitting`` jobs found at the provider by their job id."""
    requeued: int = 0
    """``submitting`` jobs the provider never saw: queued again."""
    unsettled: int = 0
    """``submitting`` jobs the provider may still accept: asked about again later."""
    failed: int = 0
    last_job_id: int = 0


async def adopt_orphans(
    tx: Transaction, repo: JobRepository, owner: str, endpoint: str | None = None
) -> list[PendingJob]:
    """Make ``owner`` the owner of every unfinished job whose owner cannot be running.

    That is: no owner (claimed without a lease), or an owner with no lease (it stopped
    cleanly), or one of this host whose process is gone. A silent owner elsewhere is left to
    ``bot.jobs.adoption``, which watches it first.
    """
    leases = LeaseRepository()
    workers = {lease.holder: lease for lease in await leases.all(tx) if is_worker(lease)}
    for holder, lease in workers.items():
        if gone_from_this_host(holder):
            await leases.release_read(tx, lease)  # a crash here: its lease goes with it
    adopted: list[PendingJob] = []
    for previous in await repo.live_owners(tx):
        if previous == owner:
            continue
        if previous is None or previous not in workers or gone_from_this_host(previous):
            adopted.extend(await repo.adopt(tx, owner, previous, endpoint=endpoint))
    return adopted


def entry_of(job: PendingJob) -> QueueEntry:
    """The policy's view of a stored job."""
    return QueueEntry(job.id, job.guild_id, job.user_id, job.speed, job.weight)


def entries_of(jobs: list[WaitingJob]) -> list[QueueEntry]:
    """The policy's view of stored queued jobs."""
    return [QueueEntry(id_, guild, user, speed, weight) for id_, guild, user, speed, weight in jobs]


async def load_limits(
    tx: Transaction,
    guilds: GuildConfigRepository,
    settings: SchedulerSettings,
    policy: FairScheduler,
    guild_ids: set[int],
) -> None:
    """Give the policy each guild's running limits (guild configuration over settings).

    One query for all the guilds: recovery may see ten thousand of them.
    """
    own = await guilds.running_limits_in(tx, guild_ids)
    for guild_id in guild_ids:
        per_user, per_guild = own.get(guild_id, (None, None))
        policy.set_limits(
            guild_id,
            Limits(
                settings.max_running_per_user if per_user is None else per_user,
                settings.max_running_per_guild if per_guild is None else per_guild,
            ),
        )


class Recovery:
    """Runs recovery against the dispatcher's policy and slots."""

    def __init__(self, parts: Parts, guilds: GuildConfigRepository) -> None:
        self._p = parts
        self._guilds = guilds

    async def run(self) -> RecoveryReport:
        """Load every unfinished job (one transaction) and put it back where it belongs.

        With an owner (several processes dispatching), the submitting and running jobs are
        only those this process adopts now: no owner's, or a process's whose lease is gone.
        With the shared queue (PostgreSQL), the queued ones stay in the database.
        """
        owner = self._p.ownership.owner
        shared = self._p.ownership.queue
        async with self._p.db.transaction() as tx:
            if shared is not None:
                # Queueing keeps the shared queue's rows; this repairs any a process of an
                # older release, queueing without them, left out.
                await shared.rebuild(tx)
            waiting, pending = await self._p.repo.unfinished(tx, queued=shared is None)
            if owner is not None:
                adopted = await adopt_orphans(tx, self._p.repo, owner, self._p.ownership.endpoint)
                pending = [job for job in adopted if job.state is not JobState.QUEUED]
            guild_ids = {guild_id for _, guild_id, _, _, _ in waiting}
            guild_ids.update(job.guild_id for job in pending)
            await load_limits(tx, self._guilds, self._p.settings, self._p.policy, guild_ids)
            sent_at = await self._sent_at(tx, pending)
        # Queued jobs wait again in id order, in one pass: there may be a hundred thousand.
        with collector_paused():
            self._p.policy.add_many(entries_of(waiting))
        counts = await self._place(pending, sent_at)
        counts["queued"] = len(waiting)
        last = max(waiting[-1][0] if waiting else 0, max((job.id for job in pending), default=0))
        report = RecoveryReport(**counts, last_job_id=last)
        log.info("recovered jobs: %s", report.model_dump())
        return report

    async def adopt(self, jobs: list[PendingJob]) -> dict[str, int]:
        """Take over another process's unfinished jobs (already made this one's)."""
        queued = [job for job in jobs if job.state is JobState.QUEUED]
        pending = [job for job in jobs if job.state is not JobState.QUEUED]
        async with self._p.db.transaction() as tx:
            guild_ids = {job.guild_id for job in jobs}
            await load_limits(tx, self._guilds, self._p.settings, self._p.policy, guild_ids)
            sent_at = await self._sent_at(tx, pending)
        for job in queued:
            if job.id not in self._p.policy:
                self._p.policy.add(entry_of(job))
        counts = await self._place(pending, sent_at)
        counts["queued"] = len(queued)
        log.info("adopted jobs: %s", counts)
        return counts

    async def _sent_at(self, tx: Transaction, pending: list[PendingJob]) -> dict[int, float]:
        return await self._p.repo.submitted_at(
            tx, [job.id for job in pending if job.state is JobState.SUBMITTING]
        )

    async def _place(self, pending: list[PendingJob], sent_at: dict[int, float]) -> dict[str, int]:
        """Running jobs tracked again, submitting ones matched, held or queued again."""
        now = self._p.clock()
        counts = dict.fromkeys(("running", "matched", "requeued", "unsettled", "failed"), 0)
        submitting: list[PendingJob] = []
        orphaned: list[PendingJob] = []
        for job in pending:
            if job.state is JobState.SUBMITTING:
                submitting.append(job)
            elif job.provider_task_id is None:
                orphaned.append(job)
            else:
                self._resume(job, job.provider_task_id, now)
                counts["running"] += 1
        for job in orphaned:
            await self._p.settler.fail(
                job.id, JobState.RUNNING, FailureKind.PROVIDER_ERROR, "The job's task was lost."
            )
            counts["failed"] += 1
        requeue: list[PendingJob] = []
        for job in submitting:
            since = sent_at.get(job.id, now)
            task, known = await self._find(job)
            if task is not None:
                counts["matched"] += await self._match(job, task, now)
            elif known and self._p.unsettled.closed(since, now):
                requeue.append(job)
            else:
                # The bot died with the submit in flight: the provider may accept it yet.
                self._resume(job, None, now)
                self._p.unsettled.hold(job.id, since=since, now=now)
                counts["unsettled"] += 1
        if requeue:
            async with self._p.db.transaction() as tx:
                back = await self._p.repo.transition_many(
                    tx, [job.id for job in requeue], JobState.SUBMITTING, JobState.QUEUED, now=now
                )
            moved = {job.id for job in back}
            # They were picked before every job still queued: back to the head, in order.
            for job in reversed(requeue):
                if job.id in moved:
                    self._p.policy.add(entry_of(job), front=True)
            counts["requeued"] = len(moved)
        return counts

    def _resume(self, job: PendingJob, task_id: str | None, now: float) -> None:
        entry = entry_of(job)
        # Adopted, it may still wait in this queue (picked here once, with no room): it is
        # running now, and a cancel must find it in the slots.
        self._p.policy.remove(job.id)
        self._p.policy.mark_running(entry)
        flight = self._p.slots.occupy(entry, now=now, task_id=task_id)
        flight.started_at = job.started_at if job.started_at is not None else now
        flight.began = job.progress > 0

    async def _find(self, job: PendingJob) -> tuple[TaskState | None, bool]:
        """The job's task at the provider, and whether a None is the provider's own answer."""
        try:
            return await self._p.provider.find_by_state(str(job.id)), True
        except ProviderError as exc:
            log.warning("could not look up job %s at the provider: %s", job.id, exc.message)
            return None, False

    async def _match(self, job: PendingJob, task: TaskState, now: float) -> bool:
        async with self._p.db.transaction() as tx:
            running = await self._p.repo.start(tx, job.id, task_id=task.task_id, now=now)
        if running is None:
            return False
        self._resume(job, task.task_id, now)
        return True
