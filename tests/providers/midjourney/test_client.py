"""The client against the loopback fake server over real HTTP: submits, actions, status."""

from __future__ import annotations

import pytest

from bot.errors import (
    FailureKind,
    ProviderBusy,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
)
from bot.model import Action, ProviderButton, SpeedMode
from bot.providers.base import ActionRequest, ImageProvider, ImagineRequest, TaskState, TaskStatus
from bot.providers.midjourney import MidjourneyProxyProvider
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy
from tests.providers.midjourney.conftest import ProviderFactory

PROMPT = "a lighthouse at dusk --v 7 --seed 42"


def imagine(
    job_id: int = 1, prompt: str = PROMPT, speed: SpeedMode = SpeedMode.FAST
) -> ImagineRequest:
    return ImagineRequest(job_id=job_id, prompt=prompt, speed=speed)


async def finished_grid(
    provider: MidjourneyProxyProvider, fake: FakeMidjourneyProxy, job_id: int = 1
) -> TaskState:
    submission = await provider.submit_imagine(imagine(job_id))
    await fake.complete(submission.task_id)
    return (await provider.fetch_many([submission.task_id]))[submission.task_id]


def child_of(
    parent: TaskState, action: Action, index: int = 0, *, job_id: int = 2
) -> ActionRequest:
    return ActionRequest(
        job_id=job_id,
        parent_task_id=parent.task_id,
        parent_buttons=parent.buttons,
        action=action,
        index=index,
    )


def test_provider_satisfies_the_protocol(provider: MidjourneyProxyProvider) -> None:
    assert isinstance(provider, ImageProvider)


async def test_imagine_sends_prompt_state_and_speed_flag(
    provider: MidjourneyProxyProvider, fake: FakeMidjourneyProxy
) -> None:
    submission = await provider.submit_imagine(imagine(job_id=77))

    sent = fake.submissions[-1]
    assert sent["prompt"] == PROMPT + " --fast"
    assert sent["state"] == "77"
    assert fake.tasks[submission.task_id].state == "77"
    assert submission.queue_position is None
    assert not submission.existing


async def test_imagine_without_seed_is_refused_before_sending(
    provider: MidjourneyProxyProvider, fake: FakeMidjourneyProxy
) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await provider.submit_imagine(imagine(prompt="a lighthouse --v 7"))
    assert caught.value.kind is FailureKind.INVALID_REQUEST
    assert fake.submissions == []


async def test_task_progresses_to_success_with_grid_buttons(
    provider: MidjourneyProxyProvider, fake: FakeMidjourneyProxy
) -> None:
    task_id = (await provider.submit_imagine(imagine())).task_id
    seen = []
    for _ in range(4):
        seen.append((await provider.fetch_many([task_id]))[task_id])
        await fake.advance(task_id)
    final = (await provider.fetch_many([task_id]))[task_id]

    assert [s.status for s in seen] == [TaskStatus.SUBMITTED] + [TaskStatus.IN_PROGRESS] * 3
    assert [s.progress for s in seen] == [0, 25, 50, 75]
    assert seen[1].preview_url
    assert seen[1].preview_url.endswith("-preview.png")
    assert final.status is TaskStatus.SUCCESS
    assert final.progress == 100
    assert final.image_url
    assert final.preview_url is None
    assert final.state == "1"
    assert len(final.buttons) == 9


async def test_queued_submission_reports_position_and_full_queue_is_busy(
    fake: FakeMidjourneyProxy, make_provider: ProviderFactory
) -> None:
    fake.concurrency, fake.queue_size = 1, 2
    provider = make_provider(fake.base_url)
    first = await provider.submit_imagine(imagine(1))
    second = await provider.submit_imagine(imagine(2))
    third = await provider.submit_imagine(imagine(3))

    assert first.queue_position is None
    assert (second.queue_position, third.queue_position) == (0, 1)
    with pytest.raises(ProviderBusy):
        await provider.submit_imagine(imagine(4))
    assert (await provider.fetch_many([second.task_id]))[second.task_id].status is (
        TaskStatus.NOT_START
    )
    await fake.complete(first.task_id)
    assert (await provider.fetch_many([second.task_id]))[second.task_id].status is (
        TaskStatus.SUBMITTED
    )


@pytest.mark.parametrize(
    ("novicezk", "banned_word"), [(False, "gore"), (True, None)], ids=["trueai", "novicezk"]
)
async def test_banned_prompt_is_rejected_with_the_word_when_given(
    make_provider: ProviderFactory, novicezk: bool, banned_word: str | None
) -> None:
    async with FakeMidjourneyProxy(novicezk=novicezk) as fake:
        fake.banned_words.add("gore")
        provider = make_provider(fake.base_url)
        with pytest.raises(ProviderRejected) as caught:
            await provider.submit_imagine(imagine(prompt="gore scene --seed 1"))
    assert caught.value.kind is FailureKind.BANNED_PROMPT
    assert caught.value.banned_word == banned_word
    if banned_word:
        assert banned_word in caught.value.message


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("Banned prompt detected", FailureKind.BANNED_PROMPT),
        ("Request cancelled due to output filters", FailureKind.MODERATION),
        ("Your fast hours have run out", FailureKind.FAST_HOURS_EXHAUSTED),
        ("Discord instance error 503", FailureKind.PROVIDER_ERROR),
    ],
)
async def test_failed_task_carries_failure_kind(
    provider: MidjourneyProxyProvider, fake: FakeMidjourneyProxy, reason: str, kind: FailureKind
) -> None:
    fake.failure_reasons["doomed"] = reason
    task_id = (await provider.submit_imagine(imagine(prompt="doomed ship --seed 3"))).task_id
    await fake.complete(task_id)
    task = (await provider.fetch_many([task_id]))[task_id]
    assert task.status is TaskStatus.FAILURE
    assert task.failure_kind is kind
    assert task.failure_message


@pytest.mark.parametrize(
    ("action", "index", "custom_id_part"),
    [
        (Action.UPSCALE, 2, "upsample::2::"),
        (Action.VARIATION, 4, "variation::4::"),
        (Action.REROLL, 0, "reroll::0::"),
    ],
)
async def test_grid_action_uses_the_parents_button(
    provider: MidjourneyProxyProvider,
    fake: FakeMidjourneyProxy,
    action: Action,
    index: int,
    custom_id_part: str,
) -> None:
    grid = await finished_grid(provider, fake)
    request = child_of(grid, action, index)
    submission = await provider.submit_action(request)

    sent = fake.submissions[-1]
    assert sent["kind"] == "action"
    assert custom_id_part in sent["customId"]
    assert sent["state"] == "2"
    assert fake.tasks[submission.task_id].parent_id == grid.task_id


async def test_single_image_actions_follow_the_upscales_buttons(
    provider: MidjourneyProxyProvider, fake: FakeMidjourneyProxy
) -> None:
    grid = await finished_grid(provider, fake)
    upscale = await provider.submit_action(child_of(grid, Action.UPSCALE, 1))
    await fake.complete(upscale.task_id)
    single = (await provider.fetch_many([upscale.task_id]))[upscale.task_id]
    for job_id, action in enumerate([Action.VARY_STRONG, Action.ZOOM_OUT_1_5X, Action.PAN_UP], 3):
        await provider.submit_action(child_of(single, action, job_id=job_id))
    sent = [s["customId"] for s in fake.submissions[-3:]]
    assert "high_variation" in sent[0]
    assert "Outpaint::75" in sent[1]
    assert "pan_up" in sent[2]


async def test_single_image_action_without_button_is_invalid(
    provider: MidjourneyProxyProvider, fake: FakeMidjourneyProxy
) -> None:
    grid = await finished_grid(provider, fake)
    before = len(fake.submissions)
    with pytest.raises(ProviderRejected) as caught:
        await provider.submit_action(child_of(grid, Action.ZOOM_OUT_2X))
    assert caught.value.kind is FailureKind.INVALID_REQUEST
    assert len(fake.submissions) == before


async def test_repeated_action_reuses_the_existing_task(
    provider: MidjourneyProxyProvider, fake: FakeMidjourneyProxy
) -> None:
    grid = await finished_grid(provider, fake)
    request = child_of(grid, Action.UPSCALE, 3)
    first = await provider.submit_action(request)
    again = await provider.submit_action(request.model_copy(update={"job_id": 3}))
    assert again.existing
    assert again.task_id == first.task_id


async def test_action_on_forgotten_parent_is_parent_expired(
    provider: MidjourneyProxyProvider, fake: FakeMidjourneyProxy
) -> None:
    grid = await finished_grid(provider, fake)
    fake.forget_all()
    with pytest.raises(ProviderRejected) as caught:
        await provider.submit_action(child_of(grid, Action.VARIATION, 1))
    assert caught.value.kind is FailureKind.PARENT_EXPIRED


async def test_remix_modal_is_confirmed_with_the_parents_prompt(
    make_provider: ProviderFactory,
) -> None:
    async with FakeMidjourneyProxy(remix=True) as fake:
        provider = make_provider(fake.base_url)
        grid = await finished_grid(provider, fake)
        submission = await provider.submit_action(child_of(grid, Action.VARIATION, 2))
        assert fake.submissions[-1]["kind"] == "modal"
        assert fake.submissions[-1]["prompt"] == PROMPT + " --fast"
        assert fake.tasks[submission.task_id].status == "SUBMITTED"
        assert not submission.existing


async def test_fetch_many_asks_once_for_all_tasks_and_omits_forgotten_ones(
    provider: MidjourneyProxyProvider, fake: FakeMidjourneyProxy
) -> None:
    ids = [(await provider.submit_imagine(imagine(n))).task_id for n in range(1, 4)]
    before = len(fake.requests)
    states = await provider.fetch_many([*ids, "9999"])
    assert set(states) == set(ids)
    assert fake.requests[before:] == [("POST", "/mj/task/list-by-condition")]

    fake.forget_all()
    assert await provider.fetch_many(ids) == {}
    assert await provider.fetch_many([]) == {}


async def test_novicezk_server_gets_change_requests_and_per_task_fetches(
    make_provider: ProviderFactory,
) -> None:
    async with FakeMidjourneyProxy(novicezk=True) as fake:
        provider = make_provider(fake.base_url)
        grid = await finished_grid(provider, fake)
        assert grid.buttons == ()
        child = await provider.submit_action(
            ActionRequest(job_id=2, parent_task_id=grid.task_id, action=Action.UPSCALE, index=4)
        )
        sent = fake.submissions[-1]
        assert (sent["kind"], sent["action"], sent["index"]) == ("change", "UPSCALE", 4)

        before = len(fake.requests)
        states = await provider.fetch_many([grid.task_id, child.task_id, "404404"])
        assert set(states) == {grid.task_id, child.task_id}
        # The missing list endpoints were learned once: now only per-task fetches.
        assert all(path.endswith("/fetch") for _, path in fake.requests[before:])
        assert not provider.capabilities.batch_status
        assert await provider.cancel(child.task_id) is False
        assert not provider.capabilities.cancel


async def test_action_by_button_falls_back_to_change_when_the_server_lacks_it(
    make_provider: ProviderFactory,
) -> None:
    async with FakeMidjourneyProxy(novicezk=True) as fake:
        provider = make_provider(fake.base_url)
        grid = await finished_grid(provider, fake)
        stored = (ProviderButton(custom_id=f"MJ::JOB::variation::1::{grid.task_id}-hash"),)
        await provider.submit_action(
            ActionRequest(
                job_id=2,
                parent_task_id=grid.task_id,
                parent_buttons=stored,
                action=Action.VARIATION,
                index=1,
            )
        )
    assert [s["kind"] for s in fake.submissions[-2:]] == ["action", "change"]
    assert not provider.capabilities.custom_id_actions


async def test_cancel_on_trueai(
    provider: MidjourneyProxyProvider, fake: FakeMidjourneyProxy
) -> None:
    task_id = (await provider.submit_imagine(imagine())).task_id
    assert await provider.cancel(task_id) is True
    task = (await provider.fetch_many([task_id]))[task_id]
    assert task.status is TaskStatus.FAILURE
    assert task.failure_kind is FailureKind.CANCELLED


async def test_find_by_state_recovers_the_task_of_a_job(
    provider: MidjourneyProxyProvider, fake: FakeMidjourneyProxy
) -> None:
    submission = await provider.submit_imagine(imagine(job_id=314))
    found = await provider.find_by_state("314")
    assert found is not None
    assert found.task_id == submission.task_id
    assert await provider.find_by_state("315") is None


async def test_find_by_state_on_novicezk_uses_the_task_list(make_provider: ProviderFactory) -> None:
    async with FakeMidjourneyProxy(novicezk=True) as fake:
        provider = make_provider(fake.base_url)
        submission = await provider.submit_imagine(imagine(job_id=8))
        found = await provider.find_by_state("8")
    assert found is not None
    assert found.task_id == submission.task_id


@pytest.mark.parametrize(
    ("routing", "speed", "relax_upstream", "path", "prompt_tail", "filter_mode"),
    [
        ("path", SpeedMode.TURBO, "fast", "/mj-turbo/mj/submit/imagine", "42", None),
        ("path", SpeedMode.RELAX, "fast", "/mj-fast/mj/submit/imagine", "42", None),
        ("path", SpeedMode.RELAX, "relax", "/mj-relax/mj/submit/imagine", "42", None),
        ("account_filter", SpeedMode.TURBO, "fast", "/mj/submit/imagine", "42", "TURBO"),
        ("prompt", SpeedMode.TURBO, "fast", "/mj/submit/imagine", "--turbo", None),
        ("prompt", SpeedMode.RELAX, "fast", "/mj/submit/imagine", "--fast", None),
    ],
)
async def test_speed_routing(
    fake: FakeMidjourneyProxy,
    make_provider: ProviderFactory,
    routing: str,
    speed: SpeedMode,
    relax_upstream: str,
    path: str,
    prompt_tail: str,
    filter_mode: str | None,
) -> None:
    provider = make_provider(fake.base_url, speed_routing=routing, relax_upstream=relax_upstream)
    await provider.submit_imagine(imagine(speed=speed))
    sent = fake.submissions[-1]
    assert sent["path"] == path
    assert sent["prompt"].endswith(prompt_tail)
    assert sent.get("accountFilter", {}).get("modes", [None])[0] == filter_mode


async def test_secret_goes_to_the_proxy_but_not_to_image_hosts(
    make_provider: ProviderFactory,
) -> None:
    async with FakeMidjourneyProxy(secret="s3cret") as fake:
        provider = make_provider(fake.base_url, api_secret="s3cret")
        grid = await finished_grid(provider, fake)
        assert grid.image_url is not None
        await provider.download(grid.image_url, max_bytes=10_000_000)
    api_headers = [
        h for (_, p), h in zip(fake.requests, fake.headers_seen, strict=True) if "/mj" in p
    ]
    image_headers = [
        h for (_, p), h in zip(fake.requests, fake.headers_seen, strict=True) if "/images/" in p
    ]
    assert all(h.get("mj-api-secret") == "s3cret" for h in api_headers)
    assert image_headers
    assert all("mj-api-secret" not in h for h in image_headers)


async def test_wrong_secret_is_a_clear_error(make_provider: ProviderFactory) -> None:
    async with FakeMidjourneyProxy(secret="right") as fake:
        provider = make_provider(fake.base_url, api_secret="wrong")
        with pytest.raises(ProviderError) as caught:
            await provider.submit_imagine(imagine())
    assert "credentials" in str(caught.value)
    assert "wrong" not in str(caught.value)


async def test_poll_interval_speeds_up_while_tasks_move_and_slows_while_they_wait(
    provider: MidjourneyProxyProvider, fake: FakeMidjourneyProxy
) -> None:
    task_id = (await provider.submit_imagine(imagine())).task_id
    await provider.fetch_many([task_id])
    for _ in range(3):
        await fake.advance(task_id)
        await provider.fetch_many([task_id])
    moving = provider.suggested_poll_interval
    for _ in range(6):
        await provider.fetch_many([task_id])
    waiting = provider.suggested_poll_interval
    assert moving == pytest.approx(0.5)
    assert waiting == pytest.approx(2.0)


async def test_stalled_task_stops_moving_and_polling_slows(
    provider: MidjourneyProxyProvider, fake: FakeMidjourneyProxy
) -> None:
    task_id = (await provider.submit_imagine(imagine())).task_id
    await fake.advance(task_id)
    fake.stall(task_id)
    intervals = []
    for _ in range(4):
        await fake.advance(task_id)
        state = (await provider.fetch_many([task_id]))[task_id]
        assert state.progress == 25
        intervals.append(provider.suggested_poll_interval)
    assert intervals == sorted(intervals)
    assert intervals[-1] > intervals[0]


async def test_redirects_are_not_followed_with_the_secret(make_provider: ProviderFactory) -> None:
    import httpx

    seen_hosts = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen_hosts.append(request.url.host)
        return httpx.Response(302, headers={"location": "http://elsewhere.test/mj/task/list"})

    provider = make_provider(
        "http://proxy.test/mj", api_secret="k", transport=httpx.MockTransport(handler)
    )
    with pytest.raises(ProviderUnavailable):
        await provider.fetch_many(["1"])
    assert set(seen_hosts) == {"proxy.test"}
