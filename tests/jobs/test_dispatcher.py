from pathlib import Path

import pytest

from bot.errors import FailureKind, ProviderBusy, ProviderRejected, ProviderUnavailable
from bot.jobs import DeliveryFailed, JobState
from bot.providers.base import Action, ActionRequest, Capabilities, ImagineRequest, Submission
from bot.settings import ProviderSettings, SchedulerSettings
from bot.speed import SpeedMode
from tests.fakes.memory_provider import MemoryProvider, Script
from tests.jobs.conftest import USER, System, build


async def states(system: System, *job_ids: int) -> list[JobState]:
    return [(await system.job(job_id)).state for job_id in job_ids]


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


async def test_provider_busy_keeps_the_job_queued_uncharged_in_its_place(tmp_path: Path) -> None:
    system = await build(tmp_path / "t.db", provider_settings=ProviderSettings(max_concurrency=1))
    try:
        system.provider.submit_errors.extend([ProviderBusy("queue full")])
        first, second = await system.imagine("first", "second")
        await system.dispatcher.drain()
        assert await states(system, first.id, second.id) == [JobState.QUEUED, JobState.QUEUED]
        assert (await system.job(first.id)).attempts == 1
        assert (await system.balance()).member_used == 0
        assert len(system.provider.requests) == 1
        system.clock.advance(5.0)
        await system.dispatcher.drain()
        assert [request.job_id for request in system.provider.requests] == [
            first.id,
            first.id,
            second.id,
        ]
        assert await states(system, first.id, second.id) == [JobState.SUCCEEDED] * 2
        assert (await system.balance()).member_used == 2000
    finally:
        await system.db.close()


async def test_an_unreachable_provider_is_retried_with_backoff_then_refunded(
    system: System,
) -> None:
    system.provider.submit_errors.extend([ProviderUnavailable("down")] * 5)
    (job,) = await system.imagine("a fox")
    delays = []
    for _ in range(5):
        await system.dispatcher.drain()
        paused = system.dispatcher._submitter.paused_until - system.clock.now
        delays.append(paused)
        system.clock.advance(max(paused, 0))
    failed = await system.job(job.id)
    assert failed.state is JobState.FAILED
    assert failed.failure_kind is FailureKind.UNAVAILABLE
    assert failed.attempts == 5
    assert delays[:4] == [2.0, 4.0, 8.0, 16.0]
    balance = await system.balance()
    assert (balance.member_used, balance.member_reserved) == (0, 0)


async def test_an_unreachable_provider_recovers_within_the_attempts(system: System) -> None:
    system.provider.submit_errors.extend([ProviderUnavailable("down")] * 2)
    (job,) = await system.imagine("a fox")
    for _ in range(3):
        await system.dispatcher.drain()
        system.clock.advance(60)
    assert (await system.job(job.id)).state is JobState.SUCCEEDED
    assert (await system.balance()).member_used == 1000


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ProviderRejected("banned: gore", kind=FailureKind.BANNED_PROMPT), "banned_prompt"),
        (ProviderRejected("expired", kind=FailureKind.PARENT_EXPIRED), "parent_expired"),
    ],
)
async def test_a_refused_submission_fails_with_its_reason_and_refunds(
    system: System, error: ProviderRejected, kind: str
) -> None:
    system.provider.submit_errors.append(error)
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    failed = await system.job(job.id)
    assert (failed.state, failed.failure_kind, failed.failure_message) == (
        JobState.FAILED,
        FailureKind(kind),
        error.message,
    )
    assert (await system.balance()).member_reserved == 0
    assert system.kinds(job.id) == ["queued", "failed"]


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


async def test_the_watchdog_fails_an_overlong_task(tmp_path: Path) -> None:
    system = await build(
        tmp_path / "t.db", scheduler=SchedulerSettings(stall_timeout=100, job_timeout=250)
    )
    try:
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
    finally:
        await system.db.close()


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
    tmp_path: Path,
) -> None:
    provider = MemoryProvider(
        capabilities=Capabilities(cancel=False),
        default=Script(polls=3),
    )
    system = await build(
        tmp_path / "t.db", provider=provider, provider_settings=ProviderSettings(max_concurrency=1)
    )
    try:
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
    finally:
        await system.db.close()


async def test_delivery_is_retried_then_succeeds_once(system: System) -> None:
    system.deliverer.failures.extend([DeliveryFailed("503", retryable=True)] * 2)
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    assert await states(system, job.id) == [JobState.SUCCEEDED]
    assert system.deliverer.attempts == 3
    assert system.sleep.delays == [2.0, 4.0]
    assert (await system.balance()).member_used == 1000


@pytest.mark.parametrize(
    "failures",
    [
        [DeliveryFailed("forbidden", retryable=False)],
        [DeliveryFailed("503", retryable=True)] * 3,
    ],
)
async def test_a_delivery_that_keeps_failing_fails_the_job_and_refunds(
    system: System, failures: list[DeliveryFailed]
) -> None:
    system.deliverer.failures.extend(failures)
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    failed = await system.job(job.id)
    assert (failed.state, failed.failure_kind) == (JobState.FAILED, FailureKind.DELIVERY)
    assert failures[-1].message in (failed.failure_message or "")
    balance = await system.balance()
    assert (balance.member_used, balance.member_reserved) == (0, 0)


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


async def test_a_second_guilds_job_waits_at_most_one_slot_turnover(tmp_path: Path) -> None:
    system = await build(tmp_path / "t.db", provider_settings=ProviderSettings(max_concurrency=1))
    try:
        system.provider.default = Script(polls=1)
        await system.imagine(*[f"flood {n}" for n in range(10)], guild=1)
        (late,) = await system.imagine("late", guild=2, user=99)
        await system.dispatcher.drain()
        order = [request.job_id for request in system.provider.requests]
        assert order.index(late.id) <= 1
    finally:
        await system.db.close()


async def test_relax_jobs_wait_for_fast_ones_but_get_their_share(tmp_path: Path) -> None:
    system = await build(
        tmp_path / "t.db",
        provider_settings=ProviderSettings(max_concurrency=1),
        scheduler=SchedulerSettings(relax_share=0.5, max_waiting_per_user=50),
    )
    try:
        system.provider.default = Script(polls=1)
        relax = await system.imagine("r1", "r2", speed=SpeedMode.RELAX, user=50)
        fast = await system.imagine(*[f"f{n}" for n in range(6)], user=60)
        await system.dispatcher.drain()
        order = [request.job_id for request in system.provider.requests]
        assert order.index(relax[0].id) <= 2
        assert order.index(relax[1].id) <= 5
        assert set(order) == {job.id for job in relax + fast}
    finally:
        await system.db.close()


async def test_running_limits_per_user_leave_slots_to_others(tmp_path: Path) -> None:
    system = await build(
        tmp_path / "t.db",
        scheduler=SchedulerSettings(max_running_per_user=1),
        provider_settings=ProviderSettings(max_concurrency=3),
    )
    try:
        system.provider.default = Script(polls=2)
        await system.imagine("a", "b", "c")
        await system.dispatcher._load_new()
        await system.dispatcher._submitter.dispatch()
        assert len(system.provider.requests) == 1
        await system.dispatcher.drain()
        assert system.provider.peak_active == 1
    finally:
        await system.db.close()


async def test_a_guilds_configured_running_limit_holds_at_the_provider(system: System) -> None:
    await system.guilds.update(1, max_running_per_guild=1)
    system.provider.default = Script(polls=2)
    jobs = await system.imagine("a", "b")
    jobs += await system.imagine("c", user=USER + 1)
    await system.dispatcher.drain()
    assert system.provider.peak_active == 1
    assert set(await states(system, *(job.id for job in jobs))) == {JobState.SUCCEEDED}


class CancelWhileSubmitting(MemoryProvider):
    """The owner cancels while the provider call is in flight."""

    system: System | None = None

    async def submit_imagine(self, request: ImagineRequest) -> Submission:
        submission = await super().submit_imagine(request)
        assert self.system is not None
        await self.system.jobs.cancel(request.job_id, user_id=USER)
        return submission


async def test_a_cancel_during_submission_wins_and_stops_the_new_task(tmp_path: Path) -> None:
    provider = CancelWhileSubmitting()
    system = await build(tmp_path / "t.db", provider=provider)
    provider.system = system
    try:
        (job,) = await system.imagine("a fox")
        await system.dispatcher.drain()
        cancelled = await system.job(job.id)
        assert (cancelled.state, cancelled.provider_task_id) == (JobState.CANCELLED, None)
        assert provider.cancelled == ["task-1"]
        assert system.deliverer.delivered == []
        assert system.dispatcher.in_flight == 0
        assert (await system.balance()).member_reserved == 0
        assert system.kinds(job.id) == ["queued", "cancelled"]
    finally:
        await system.db.close()
