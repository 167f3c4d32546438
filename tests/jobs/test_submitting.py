import pytest

from bot.errors import FailureKind, ProviderBusy, ProviderRejected, ProviderUnavailable
from bot.model import JobState
from bot.providers.base import ImagineRequest, Submission
from bot.settings import ProviderSettings
from tests.fakes.memory_provider import MemoryProvider
from tests.jobs.conftest import USER, Make, System, states


async def test_provider_busy_keeps_the_job_queued_uncharged_in_its_place(make: Make) -> None:
    system = await make(provider_settings=ProviderSettings(max_concurrency=1))
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


class CancelWhileSubmitting(MemoryProvider):
    """The owner cancels while the provider call is in flight."""

    system: System | None = None

    async def submit_imagine(self, request: ImagineRequest) -> Submission:
        submission = await super().submit_imagine(request)
        assert self.system is not None
        await self.system.jobs.cancel(request.job_id, user_id=USER)
        return submission


async def test_a_cancel_during_submission_wins_and_stops_the_new_task(make: Make) -> None:
    provider = CancelWhileSubmitting()
    system = await make(provider=provider)
    provider.system = system
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    cancelled = await system.job(job.id)
    assert (cancelled.state, cancelled.provider_task_id) == (JobState.CANCELLED, None)
    assert provider.cancelled == ["task-1"]
    assert system.deliverer.delivered == []
    assert system.dispatcher.in_flight == 0
    assert (await system.balance()).member_reserved == 0
    assert system.kinds(job.id) == ["queued", "cancelled"]


class MixedRound(MemoryProvider):
    """One round's answers differ by job: accepted, refused, or cancelled meanwhile."""

    system: System | None = None

    async def submit_imagine(self, request: ImagineRequest) -> Submission:
        if request.prompt.startswith("refused"):
            self.requests.append(request)
            raise ProviderRejected("banned prompt", kind=FailureKind.BANNED_PROMPT)
        submission = await super().submit_imagine(request)
        if request.prompt.startswith("cancelled"):
            assert self.system is not None
            await self.system.jobs.cancel(request.job_id, user_id=0, moderator=True)
        return submission


async def test_a_round_records_each_jobs_own_outcome(make: Make) -> None:
    provider = MixedRound()
    system = await make(provider=provider)
    provider.system = system
    texts = ("first", "refused", "second", "cancelled", "third")
    # One user each, so the per-user running limit lets the whole round start together.
    jobs = [(await system.imagine(text, user=USER + n))[0] for n, text in enumerate(texts)]
    await system.dispatcher.drain()
    assert len(provider.requests) == len(texts)
    by_text = {text: await system.job(job.id) for text, job in zip(texts, jobs, strict=True)}
    started = [by_text[text] for text in ("first", "second", "third")]
    assert [job.state for job in started] == [JobState.SUCCEEDED] * 3
    for job in started:
        assert job.provider_task_id is not None
        assert provider.tasks[job.provider_task_id].request.job_id == job.id
    assert by_text["refused"].state is JobState.FAILED
    cancelled = by_text["cancelled"]
    assert (cancelled.state, cancelled.provider_task_id) == (JobState.CANCELLED, None)
    assert len(provider.cancelled) == 1
    ran = ["queued", "started", "progress", "succeeded"]
    assert [system.kinds(job.id) for job in jobs] == [
        ran,
        ["queued", "failed"],
        ran,
        ["queued", "cancelled"],
        ran,
    ]
    for n, text in enumerate(texts):
        balance = await system.balance(user=USER + n)
        charged = 1000 if by_text[text].state is JobState.SUCCEEDED else 0
        assert (balance.member_used, balance.member_reserved) == (charged, 0)


async def test_a_request_the_provider_already_runs_for_another_job_fails_with_a_refund(
    system: System,
) -> None:
    system.provider.dedupe = True
    first, twin = await system.imagine("a fox --seed 5", "a fox --seed 5")
    await system.dispatcher.drain()
    assert await states(system, first.id, twin.id) == [JobState.SUCCEEDED, JobState.FAILED]
    assert "already" in ((await system.job(twin.id)).failure_message or "")
    assert system.provider.cancelled == []
    balance = await system.balance()
    assert (balance.member_used, balance.member_reserved) == (1000, 0)


async def test_the_duplicate_answer_arriving_first_still_fails_only_the_duplicate(
    system: System,
) -> None:
    system.provider.dedupe = True
    first, twin = await system.imagine("a fox --seed 5", "a fox --seed 5")
    # The twin reaches the provider first, so the earlier job is the one told "existing".
    system.provider.late = {first.id}
    await system.dispatcher.drain()
    assert await states(system, first.id, twin.id) == [JobState.FAILED, JobState.SUCCEEDED]
    assert f"#{twin.id}" in ((await system.job(first.id)).failure_message or "")
    assert system.provider.cancelled == []
    balance = await system.balance()
    assert (balance.member_used, balance.member_reserved) == (1000, 0)


async def test_a_hung_submit_served_late_is_attached_not_sent_again(system: System) -> None:
    # Issue #11, finding 3: the submit timed out, then the provider accepted it anyway.
    timeout = system.provider_settings.request_timeout
    system.provider.hang_next = 1
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    assert (await system.job(job.id)).state is JobState.SUBMITTING
    assert system.provider.lookups == []  # not asked at once: it may still be served
    system.clock.advance(timeout)
    await system.dispatcher.drain()
    assert system.provider.lookups  # asked, told "none", but the window is still open
    assert (await system.job(job.id)).state is JobState.SUBMITTING
    assert len(system.provider.requests) == 1
    assert system.dispatcher.in_flight == 1  # it keeps its slot meanwhile
    [task_id] = system.provider.serve_late()
    system.clock.advance(timeout)
    await system.dispatcher.drain()
    done = await system.job(job.id)
    assert (done.state, done.provider_task_id) == (JobState.SUCCEEDED, task_id)
    assert (len(system.provider.requests), len(system.provider.tasks)) == (1, 1)
    assert (await system.balance()).member_used == 1000


async def test_a_hung_submit_never_served_is_sent_again_once_its_window_closed(
    system: System,
) -> None:
    window = 2 * system.provider_settings.request_timeout
    system.provider.hang_next = 1
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    system.clock.advance(window - 1)
    await system.dispatcher.drain()
    assert len(system.provider.requests) == 1
    system.clock.advance(1)
    await system.dispatcher.drain()
    assert [request.job_id for request in system.provider.requests] == [job.id, job.id]
    assert (await system.job(job.id)).state is JobState.SUCCEEDED
    assert len(system.provider.tasks) == 1


async def test_a_job_cancelled_while_its_submit_is_unanswered_stops_the_late_task(
    system: System,
) -> None:
    system.provider.hang_next = 1
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    await system.jobs.cancel(job.id, user_id=USER)
    [task_id] = system.provider.serve_late()
    system.clock.advance(system.provider_settings.request_timeout)
    await system.dispatcher.drain()
    assert (await system.job(job.id)).state is JobState.CANCELLED
    assert system.provider.cancelled == [task_id]
    assert len(system.provider.requests) == 1
    assert (await system.balance()).member_used == 0


async def test_a_held_submit_the_provider_cannot_be_asked_about_fails_with_a_refund(
    system: System,
) -> None:
    from bot.errors import ProviderUnavailable

    system.provider.hang_next = 1
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    system.provider.lookup_errors.extend(ProviderUnavailable("down") for _ in range(10_000))
    # Within job_timeout the job is held: it may still be accepted late.
    system.clock.advance(system.scheduler.job_timeout - 1)
    await system.dispatcher.drain()
    assert (await system.job(job.id)).state is JobState.SUBMITTING
    system.clock.advance(2)
    await system.dispatcher.drain()
    failed = await system.job(job.id)
    assert failed.state is JobState.FAILED
    assert "could not be asked about it; nothing was charged" in (failed.failure_message or "")
    assert system.dispatcher.in_flight == 0
    assert (await system.balance()).member_used == 0


async def test_a_cancelled_held_submit_gives_its_slot_back_once_its_window_closed(
    system: System,
) -> None:
    from bot.errors import ProviderUnavailable

    system.provider.hang_next = 1
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    system.provider.lookup_errors.extend(ProviderUnavailable("down") for _ in range(10_000))
    await system.jobs.cancel(job.id, user_id=USER)
    await system.dispatcher.drain()
    assert system.dispatcher.in_flight == 1  # a late acceptance is still possible
    system.clock.advance(2 * system.provider_settings.request_timeout)
    await system.dispatcher.drain()
    assert system.dispatcher.in_flight == 0
    assert (await system.job(job.id)).state is JobState.CANCELLED
