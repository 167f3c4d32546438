"""Crash and restart on a real SQLite file: nothing lost, nothing charged twice."""

import asyncio

import pytest

from bot.errors import ProviderUnavailable
from bot.model import JobState
from bot.providers.base import ImagineRequest, Submission
from bot.settings import ProviderSettings
from bot.store.database import DatabaseClosed
from bot.store.jobs import JobRepository
from tests.fakes.memory_provider import MemoryProvider, Script
from tests.jobs.conftest import USER, Make, System


async def commits(system: System, job_id: int) -> int:
    async with system.db.transaction() as tx:
        return int(
            await tx.fetch_value(
                "SELECT COUNT(*) FROM quota_ledger WHERE job_id = ? AND kind = 'commit'",
                (job_id,),
            )
        )


async def test_queued_jobs_keep_their_order_across_a_restart(make: Make) -> None:
    first = await make(provider_settings=ProviderSettings(max_concurrency=1))
    a = await first.imagine("a1", "a2", "a3")
    b = await first.imagine("b1", "b2", user=USER + 1)
    system = await first.restart()
    report = await system.dispatcher.recover()
    assert (report.queued, report.running, report.last_job_id) == (5, 0, b[-1].id)
    await system.dispatcher.drain()
    order = [request.job_id for request in system.provider.requests]
    assert order == [a[0].id, b[0].id, a[1].id, b[1].id, a[2].id]


async def test_running_jobs_resume_tracking_and_are_charged_once(make: Make) -> None:
    first = await make(provider=MemoryProvider(default=Script(ending="stall")))
    (job,) = await first.imagine("a fox")
    await first.dispatcher.drain()
    assert (await first.job(job.id)).state is JobState.RUNNING
    system = await first.restart()
    system.provider.finish("task-1")
    report = await system.dispatcher.recover()
    assert report.running == 1
    await system.dispatcher.drain()
    assert (await system.job(job.id)).state is JobState.SUCCEEDED
    assert len(system.provider.requests) == 1
    assert await commits(system, job.id) == 1
    assert (await system.balance()).member_used == 1000


class CrashAfterSubmit(MemoryProvider):
    """Accepts the task, then the bot 'crashes' before it can record the answer."""

    crash: System | None = None

    async def submit_imagine(self, request: ImagineRequest) -> Submission:
        submission = await super().submit_imagine(request)
        if self.crash is not None:
            await self.crash.db.close()
            self.crash = None
        return submission


async def test_a_job_caught_submitting_is_matched_by_its_job_id(make: Make) -> None:
    provider = CrashAfterSubmit(default=Script(polls=2))
    first = await make(provider=provider)
    (job,) = await first.imagine("a fox")
    provider.crash = first
    with pytest.raises(DatabaseClosed):
        await first.dispatcher.drain()
    system = await make(provider=provider, clock=first.clock)
    assert (await system.job(job.id)).state is JobState.SUBMITTING
    report = await system.dispatcher.recover()
    assert (report.matched, report.requeued) == (1, 0)
    await system.dispatcher.drain()
    done = await system.job(job.id)
    assert (done.state, done.provider_task_id) == (JobState.SUCCEEDED, "task-1")
    assert len(provider.requests) == 1
    assert await commits(system, job.id) == 1


async def test_a_job_the_provider_never_saw_is_submitted_again(make: Make) -> None:
    first = await make()
    (job,) = await first.imagine("a fox")
    async with first.db.transaction() as tx:
        await JobRepository().transition(
            tx, job.id, JobState.QUEUED, JobState.SUBMITTING, now=first.clock()
        )
    # Down for longer than the submit could have been served late.
    first.clock.advance(2 * first.provider_settings.request_timeout)
    system = await first.restart()
    report = await system.dispatcher.recover()
    assert (report.matched, report.requeued) == (0, 1)
    await system.dispatcher.drain()
    assert (await system.job(job.id)).state is JobState.SUCCEEDED
    assert len(system.provider.requests) == 1
    assert (await system.balance()).member_used == 1000


async def test_a_delivered_job_whose_commit_was_lost_is_delivered_again_and_charged_once(
    make: Make,
) -> None:
    first = await make()
    (job,) = await first.imagine("a fox")

    async def crash() -> None:
        await first.db.close()

    first.deliverer.before_return = crash
    await first.dispatcher.drain()  # the commit fails; the delivery task logs it
    first.deliverer.before_return = None
    system = await make(provider=first.provider, deliverer=first.deliverer, clock=first.clock)
    assert (await system.job(job.id)).state is JobState.RUNNING
    await system.dispatcher.drain()
    assert (await system.job(job.id)).state is JobState.SUCCEEDED
    assert [delivered.id for delivered, _ in system.deliverer.delivered] == [job.id, job.id]
    assert await commits(system, job.id) == 1
    balance = await system.balance()
    assert (balance.member_used, balance.member_reserved) == (1000, 0)


async def test_the_background_loop_runs_jobs_and_stops_cleanly(system: System) -> None:
    subscription = system.events.subscribe()
    await system.dispatcher.start()
    await system.dispatcher.start()  # a second start is a no-op
    (job,) = await system.imagine("a fox")

    async def until_succeeded() -> None:
        async for event in subscription:
            if event.kind == "succeeded" and event.job.id == job.id:
                return

    await asyncio.wait_for(until_succeeded(), timeout=10)
    await system.dispatcher.stop()
    subscription.close()
    assert (await system.job(job.id)).state is JobState.SUCCEEDED
    assert system.dispatcher.idle


async def test_a_submit_accepted_after_the_crash_is_found_not_sent_again(make: Make) -> None:
    # Issue #11, finding 3: the bot dies with a submit in flight, the provider accepts it
    # only after the restart's first look; a second submit would make a second task.
    provider = MemoryProvider(hang_next=1)
    first = await make(provider=provider)
    (job,) = await first.imagine("a fox")
    await first.dispatcher.drain()
    assert (await first.job(job.id)).state is JobState.SUBMITTING
    system = await first.restart()
    report = await system.dispatcher.recover()
    assert (report.matched, report.requeued, report.unsettled) == (0, 0, 1)
    await system.dispatcher.drain()
    system.clock.advance(system.provider_settings.request_timeout)
    await system.dispatcher.drain()
    assert len(provider.requests) == 1  # not yet provably absent: nothing sent again
    provider.serve_late()
    system.clock.advance(system.provider_settings.request_timeout)
    await system.dispatcher.drain()
    done = await system.job(job.id)
    assert (done.state, done.provider_task_id) == (JobState.SUCCEEDED, "task-1")
    assert (len(provider.requests), len(provider.tasks)) == (1, 1)
    assert await commits(system, job.id) == 1


async def test_a_provider_that_cannot_be_asked_never_gets_a_second_submit(make: Make) -> None:
    provider = MemoryProvider(hang_next=1)
    first = await make(provider=provider)
    (job,) = await first.imagine("a fox")
    await first.dispatcher.drain()
    first.clock.advance(10 * first.provider_settings.request_timeout)
    system = await first.restart()
    provider.lookup_errors.extend([ProviderUnavailable("down")] * 2)
    report = await system.dispatcher.recover()
    assert (report.requeued, report.unsettled) == (0, 1)
    system.clock.advance(2.0)  # the first look again (retry_delay): still cannot ask
    await system.dispatcher.drain()
    assert (await system.job(job.id)).state is JobState.SUBMITTING
    assert len(provider.requests) == 1
    system.clock.advance(4.0)
    await system.dispatcher.drain()  # asked and told "none": sent again, and it runs
    assert (await system.job(job.id)).state is JobState.SUCCEEDED
    assert len(provider.requests) == 2
