import pytest

from bot.errors import FailureKind, ProviderUnavailable
from bot.model import JobState
from bot.settings import SchedulerSettings
from tests.fakes.memory_provider import Script
from tests.jobs.conftest import Make, System, states


async def test_a_failed_task_fails_the_job_with_the_providers_reason(system: System) -> None:
    system.provider.scripts.append(
        Script(polls=2, ending="failure", failure_kind=FailureKind.MODERATION, failure_message="no")
    )
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    failed = await system.job(job.id)
    assert (failed.state, failed.failure_kind, failed.failure_message) == (
        JobState.FAILED,
        FailureKind.MODERATION,
        "no",
    )
    assert system.deliverer.delivered == []
    assert (await system.balance()).member_used == 0


async def test_a_task_cancelled_at_the_provider_cancels_the_job(system: System) -> None:
    system.provider.scripts.append(Script(polls=1, ending="cancel"))
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    assert await states(system, job.id) == [JobState.CANCELLED]
    assert (await system.balance()).member_reserved == 0


async def test_a_forgotten_task_that_never_started_is_resubmitted_once(system: System) -> None:
    system.provider.scripts.extend([Script(forget_at=1), Script(polls=2)])
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    done = await system.job(job.id)
    assert (done.state, done.provider_task_id, done.attempts) == (
        JobState.SUCCEEDED,
        "task-2",
        2,
    )
    assert (await system.balance()).member_used == 1000


@pytest.mark.parametrize(
    "scripts",
    [
        [Script(polls=5, forget_at=3)],
        [Script(forget_at=1), Script(forget_at=1)],
    ],
)
async def test_a_forgotten_task_fails_and_refunds_otherwise(
    system: System, scripts: list[Script]
) -> None:
    system.provider.scripts.extend(scripts)
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    failed = await system.job(job.id)
    assert (failed.state, failed.failure_kind) == (JobState.FAILED, FailureKind.PROVIDER_ERROR)
    assert "lost track" in (failed.failure_message or "")
    assert (await system.balance()).member_reserved == 0


async def test_the_watchdog_fails_a_stalled_task_and_cancels_it(system: System) -> None:
    system.provider.scripts.append(Script(ending="stall"))
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    assert await states(system, job.id) == [JobState.RUNNING]
    system.clock.advance(system.scheduler.stall_timeout - 1)
    await system.dispatcher.drain()
    assert await states(system, job.id) == [JobState.RUNNING]
    system.clock.advance(2)
    await system.dispatcher.drain()
    failed = await system.job(job.id)
    assert (failed.state, failed.failure_kind) == (JobState.FAILED, FailureKind.TIMEOUT)
    assert "no progress for 5 minutes" in (failed.failure_message or "")
    assert system.provider.cancelled == ["task-1"]
    assert (await system.balance()).member_reserved == 0
    assert system.dispatcher.in_flight == 0


async def test_the_watchdog_fails_an_overlong_task(make: Make) -> None:
    system = await make(scheduler=SchedulerSettings(stall_timeout=100, job_timeout=250))
    system.provider.scripts.append(Script(polls=10))
    (job,) = await system.imagine("a fox")
    await system.dispatcher._load_new()
    await system.dispatcher._submitter.dispatch()
    for _ in range(4):
        system.clock.advance(60)
        await system.dispatcher._tracker.poll()  # progress moves: never stalled
        assert not await system.dispatcher._tracker.watchdog()
    system.clock.advance(60)
    assert await system.dispatcher._tracker.watchdog()
    failed = await system.job(job.id)
    assert (failed.state, failed.failure_kind) == (JobState.FAILED, FailureKind.TIMEOUT)
    assert failed.failure_message == "The job was stopped: It ran longer than 250 seconds."
    assert (await system.balance()).member_reserved == 0


async def test_a_webhook_push_is_applied_without_waiting_for_a_poll(system: System) -> None:
    system.provider.default = Script(polls=10)
    (job,) = await system.imagine("a fox")
    await system.dispatcher._load_new()
    await system.dispatcher._submitter.dispatch()
    system.provider.finish("task-1")
    (task,) = (await system.provider.fetch_many(["task-1"])).values()
    await system.dispatcher.notify(task)
    await system.dispatcher.drain()
    assert await states(system, job.id) == [JobState.SUCCEEDED]
    assert len(system.deliverer.delivered) == 1


async def test_a_provider_outage_does_not_count_as_a_stall(system: System) -> None:
    system.provider.scripts.append(Script(ending="stall"))
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    for _ in range(4):  # 100 answered seconds, then 300 in which every poll fails
        system.clock.advance(100)
        system.provider.fetch_errors.append(ProviderUnavailable("The provider is down."))
        await system.dispatcher.drain()
    assert await states(system, job.id) == [JobState.RUNNING]
    assert system.provider.cancelled == []
    # The interval before the first failed poll was answered: it counts.
    system.clock.advance(system.scheduler.stall_timeout - 101)
    await system.dispatcher.drain()
    assert await states(system, job.id) == [JobState.RUNNING]
    system.clock.advance(2)  # the stall clock runs again once the polls are answered
    await system.dispatcher.drain()
    assert await states(system, job.id) == [JobState.FAILED]


async def test_the_time_a_failing_poll_takes_is_not_a_stall(system: System) -> None:
    system.provider.scripts.append(Script(ending="stall"))
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    tracker = system.dispatcher._tracker
    system.clock.advance(100)
    system.provider.fetch_errors.append(ProviderUnavailable("The provider is down."))
    system.provider.on_fetch = lambda: system.clock.advance(120)  # retries until it gives up
    assert not await tracker.poll()
    system.provider.on_fetch = None
    system.clock.advance(system.scheduler.stall_timeout - 101)  # 100 + this: just under
    await tracker.poll()
    assert not await tracker.watchdog()
    system.clock.advance(2)
    await tracker.poll()
    assert await tracker.watchdog()
    assert await states(system, job.id) == [JobState.FAILED]
