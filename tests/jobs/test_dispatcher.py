import asyncio
from collections.abc import Mapping, Sequence

from bot.errors import FailureKind
from bot.model import Action, JobState, SpeedMode
from bot.providers.base import ActionRequest, Capabilities, ImagineRequest, TaskState, TaskStatus
from bot.settings import ProviderSettings, SchedulerSettings
from tests.fakes.memory_provider import MemoryProvider, Script
from tests.jobs.conftest import USER, Make, System, states


async def test_a_job_runs_is_delivered_once_and_only_then_charged(system: System) -> None:
    system.provider.default = Script(polls=3)
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    done = await system.job(job.id)
    assert done.state is JobState.SUCCEEDED
    assert (done.progress, done.result_message_id, len(done.result_urls)) == (100, 9000 + job.id, 4)
    assert len(done.provider_buttons) == 9
    assert done.provider_task_id == "task-1"
    assert len(system.deliverer.delivered) == 1
    assert system.kinds(job.id) == [
        "queued",
        "started",
        "progress",
        "progress",
        "succeeded",
    ]
    request = system.provider.requests[0]
    assert isinstance(request, ImagineRequest)
    assert (request.job_id, request.prompt) == (job.id, job.prompt)
    balance = await system.balance()
    assert (balance.member_used, balance.member_reserved) == (1000, 0)


async def test_never_more_tasks_in_flight_than_slots_and_one_poll_for_all(system: System) -> None:
    jobs = await system.imagine(*[f"fox {n}" for n in range(8)])
    await system.imagine(*[f"owl {n}" for n in range(8)], user=USER + 1)
    await system.dispatcher.drain()
    assert system.provider.peak_active == system.provider_settings.max_concurrency == 3
    assert all(len(ids) <= 3 for ids in system.provider.fetches)
    assert max(len(ids) for ids in system.provider.fetches) == 3
    assert set(await states(system, *(job.id for job in jobs))) == {JobState.SUCCEEDED}
    assert (await system.balance()).member_used == 8000


async def test_cancelling_a_running_job_stops_the_task_and_ignores_its_result(
    system: System,
) -> None:
    system.provider.default = Script(polls=4)
    (job,) = await system.imagine("a fox")
    await system.dispatcher._load_new()
    await system.dispatcher._submitter.dispatch()
    assert await states(system, job.id) == [JobState.RUNNING]
    await system.jobs.cancel(job.id, user_id=USER)
    await system.dispatcher.drain()
    assert await states(system, job.id) == [JobState.CANCELLED]
    assert system.provider.cancelled == ["task-1"]
    assert system.deliverer.delivered == []
    assert system.dispatcher.in_flight == 0
    assert (await system.balance()).member_used == 0


async def test_without_provider_cancel_the_slot_is_held_until_the_task_ends(
    make: Make,
) -> None:
    provider = MemoryProvider(
        capabilities=Capabilities(cancel=False),
        default=Script(polls=3),
    )
    system = await make(provider=provider, provider_settings=ProviderSettings(max_concurrency=1))
    first, second = await system.imagine("first", "second")
    await system.dispatcher._load_new()
    await system.dispatcher._submitter.dispatch()
    await system.jobs.cancel(first.id, user_id=USER)
    await system.dispatcher._tracker.poll()
    await system.dispatcher._submitter.dispatch()
    assert len(provider.requests) == 1  # the cancelled task still holds the only slot
    await system.dispatcher.drain()
    assert await states(system, first.id, second.id) == [
        JobState.CANCELLED,
        JobState.SUCCEEDED,
    ]
    assert provider.peak_active == 1
    assert [job.id for job, _ in system.deliverer.delivered] == [second.id]


async def test_an_action_goes_to_the_parent_task_with_its_buttons(system: System) -> None:
    (parent,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    child = await system.press(
        parent.id,
        Action.VARIATION,
        2,
    )
    await system.dispatcher.drain()
    request = system.provider.requests[-1]
    assert isinstance(request, ActionRequest)
    done = await system.job(parent.id)
    assert (request.job_id, request.parent_task_id, request.action, request.index) == (
        child.id,
        done.provider_task_id,
        Action.VARIATION,
        2,
    )
    assert request.parent_buttons == done.provider_buttons
    assert await states(system, child.id) == [JobState.SUCCEEDED]


async def test_a_second_guilds_job_waits_at_most_one_slot_turnover(make: Make) -> None:
    system = await make(provider_settings=ProviderSettings(max_concurrency=1))
    system.provider.default = Script(polls=1)
    await system.imagine(*[f"flood {n}" for n in range(10)], guild=1)
    (late,) = await system.imagine("late", guild=2, user=99)
    await system.dispatcher.drain()
    order = [request.job_id for request in system.provider.requests]
    assert order.index(late.id) <= 1


async def test_relax_jobs_wait_for_fast_ones_but_get_their_share(make: Make) -> None:
    system = await make(
        provider_settings=ProviderSettings(max_concurrency=1),
        scheduler=SchedulerSettings(relax_share=0.5, max_waiting_per_user=50),
    )
    system.provider.default = Script(polls=1)
    relax = await system.imagine("r1", "r2", speed=SpeedMode.RELAX, user=50)
    fast = await system.imagine(*[f"f{n}" for n in range(6)], user=60)
    await system.dispatcher.drain()
    order = [request.job_id for request in system.provider.requests]
    assert order.index(relax[0].id) <= 2
    assert order.index(relax[1].id) <= 5
    assert set(order) == {job.id for job in relax + fast}


async def test_running_limits_per_user_leave_slots_to_others(make: Make) -> None:
    system = await make(
        scheduler=SchedulerSettings(max_running_per_user=1),
        provider_settings=ProviderSettings(max_concurrency=3),
    )
    system.provider.default = Script(polls=2)
    await system.imagine("a", "b", "c")
    await system.dispatcher._load_new()
    await system.dispatcher._submitter.dispatch()
    assert len(system.provider.requests) == 1
    await system.dispatcher.drain()
    assert system.provider.peak_active == 1


async def test_a_guilds_configured_running_limit_holds_at_the_provider(system: System) -> None:
    await system.guilds.update(1, max_running_per_guild=1)
    system.provider.default = Script(polls=2)
    jobs = await system.imagine("a", "b")
    jobs += await system.imagine("c", user=USER + 1)
    await system.dispatcher.drain()
    assert system.provider.peak_active == 1
    assert set(await states(system, *(job.id for job in jobs))) == {JobState.SUCCEEDED}


async def test_an_unexpected_delivery_error_fails_the_job_with_a_refund(system: System) -> None:
    system.deliverer.failures.append(AttributeError("no HTTP session yet"))
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    failed = await system.job(job.id)
    assert (failed.state, failed.failure_kind) == (JobState.FAILED, FailureKind.DELIVERY)
    balance = await system.balance()
    assert (balance.member_reserved, balance.member_used) == (0, 0)
    assert system.dispatcher.idle


async def test_stop_lets_a_delivery_under_way_finish(system: System) -> None:
    entered, gate = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        entered.set()
        await gate.wait()

    system.deliverer.before_return = hold
    await system.dispatcher.start()
    (job,) = await system.imagine("a fox")
    await asyncio.wait_for(entered.wait(), timeout=10)
    stopping = asyncio.create_task(system.dispatcher.stop())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not stopping.done()
    gate.set()
    await stopping
    assert (await system.job(job.id)).state is JobState.SUCCEEDED
    assert (await system.balance()).member_used == 1000


async def test_stop_cancels_a_delivery_that_outlasts_the_grace_period(make: Make) -> None:
    system = await make(delivery_grace=0.0)
    entered = asyncio.Event()

    async def hang() -> None:
        entered.set()
        await asyncio.Event().wait()

    system.deliverer.before_return = hang
    await system.dispatcher.start()
    (job,) = await system.imagine("a fox")
    await asyncio.wait_for(entered.wait(), timeout=10)
    await system.dispatcher.stop()
    # Cut off before its commit: the job stays running, and recovery delivers it again.
    assert (await system.job(job.id)).state is JobState.RUNNING
    assert system.dispatcher.idle


async def test_a_push_during_shutdown_starts_no_delivery(system: System) -> None:
    system.provider.default = Script(polls=50)
    (job,) = await system.imagine("a fox")
    await system.dispatcher._load_new()
    await system.dispatcher._submitter.dispatch()
    assert await states(system, job.id) == [JobState.RUNNING]
    await system.dispatcher.stop()
    finished = (
        system.provider.tasks["task-1"]
        .snapshot()
        .model_copy(
            update={
                "status": TaskStatus.SUCCESS,
                "progress": 100,
                "image_url": "https://cdn.test/grid.png",
            }
        )
    )
    await system.dispatcher.notify(finished)
    for _ in range(20):  # let any delivery task that was started run its course
        await asyncio.sleep(0)
    # Nobody would wait for that delivery: the job stays running and the next start delivers it.
    assert system.deliverer.delivered == []
    assert await states(system, job.id) == [JobState.RUNNING]
    assert (await system.balance()).member_reserved == 1000


async def test_without_the_lease_nothing_is_submitted_or_posted(system: System) -> None:
    leased = [False]
    system.dispatcher.use_fence(lambda: leased[0])
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    assert system.provider.requests == []
    assert (await system.job(job.id)).state is JobState.QUEUED
    leased[0] = True
    system.provider.default = Script(polls=1)
    await system.dispatcher.drain()
    assert (await system.job(job.id)).state is JobState.SUCCEEDED
    assert len(system.deliverer.delivered) == 1


async def test_a_result_is_not_posted_once_the_lease_may_have_passed(system: System) -> None:
    leased = [True]
    system.dispatcher.use_fence(lambda: leased[0])
    (job,) = await system.imagine("a fox")
    system.provider.default = Script(polls=1)
    real = system.deliverer.deliver

    async def lease_lost_meanwhile(*args: object) -> int | None:
        raise AssertionError("posted without the lease")

    original_fetch = system.provider.fetch_many

    async def lose_the_lease_on_the_finishing_poll(
        task_ids: Sequence[str],
    ) -> Mapping[str, TaskState]:
        answer = await original_fetch(task_ids)
        if any(state.status is TaskStatus.SUCCESS for state in answer.values()):
            leased[0] = False  # lost between the poll that saw it finished and the post
        return answer

    system.provider.fetch_many = lose_the_lease_on_the_finishing_poll  # type: ignore[method-assign]
    system.deliverer.deliver = lease_lost_meanwhile  # type: ignore[method-assign]
    await system.dispatcher.drain()
    # Still running in the database: the process that holds the lease now posts it, once.
    assert (await system.job(job.id)).state is JobState.RUNNING
    system.deliverer.deliver = real  # type: ignore[method-assign]
    restarted = await system.restart()
    await restarted.dispatcher.drain()
    assert (await restarted.job(job.id)).state is JobState.SUCCEEDED
    assert len(system.deliverer.delivered) == 1
