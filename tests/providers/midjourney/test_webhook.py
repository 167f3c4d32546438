"""The notifyHook receiver over real HTTP, fed by the fake server's callbacks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.providers.base import ImagineRequest, TaskState, TaskStatus
from bot.providers.midjourney import WebhookReceiver
from bot.providers.midjourney.webhook import HOOK_PREFIX
from bot.settings import ProviderSettings
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy
from tests.providers.midjourney.conftest import ProviderFactory


class Recorder:
    def __init__(self) -> None:
        self.tasks: list[TaskState] = []
        self.fail = False

    async def __call__(self, task: TaskState) -> None:
        if self.fail:
            raise RuntimeError("dispatcher hiccup")
        self.tasks.append(task)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def receiver(recorder: Recorder) -> AsyncIterator[WebhookReceiver]:
    settings = ProviderSettings(webhook_host="127.0.0.1", webhook_port=0)
    hook = WebhookReceiver(settings, recorder)
    await hook.start()
    yield hook
    await hook.aclose()


async def test_callbacks_reach_the_dispatcher_as_task_states(
    fake: FakeMidjourneyProxy,
    make_provider: ProviderFactory,
    receiver: WebhookReceiver,
    recorder: Recorder,
) -> None:
    provider = make_provider(fake.base_url)
    provider.use_notify_hook(receiver.url)
    assert provider.capabilities.webhook
    submission = await provider.submit_imagine(ImagineRequest(job_id=12, prompt="a kite --seed 5"))
    assert fake.submissions[-1]["notifyHook"] == receiver.url
    await fake.complete(submission.task_id)

    assert [t.progress for t in recorder.tasks] == [25, 50, 75, 100]
    assert recorder.tasks[-1].status is TaskStatus.SUCCESS
    assert {t.state for t in recorder.tasks} == {"12"}
    assert all(status == 200 for _, status in fake.hook_deliveries)


@pytest.mark.parametrize(
    ("path_suffix", "body", "status"),
    [
        ("wrong-token", b'{"id": "1", "status": "SUCCESS"}', 404),
        (None, b"not json", 400),
        (None, b'{"status": "SUCCESS"}', 400),
        (None, b'{"id": "1", "status": "IN_PROGRESS", "progress": "40%"}', 200),
    ],
    ids=["wrong-secret", "bad-json", "not-a-task", "good"],
)
async def test_receiver_answers(
    receiver: WebhookReceiver, recorder: Recorder, path_suffix: str | None, body: bytes, status: int
) -> None:
    url = receiver.url if path_suffix is None else receiver.url.rsplit("/", 1)[0] + "/x"
    async with httpx.AsyncClient() as client:
        response = await client.post(url, content=body)
    assert response.status_code == status
    assert len(recorder.tasks) == (1 if status == 200 else 0)


async def test_other_paths_are_not_found(receiver: WebhookReceiver) -> None:
    root = receiver.url.split(HOOK_PREFIX)[0]
    async with httpx.AsyncClient() as client:
        assert (await client.post(f"{root}/")).status_code == 404
        assert (await client.get(receiver.url)).status_code == 405


async def test_failing_callback_answers_500(receiver: WebhookReceiver, recorder: Recorder) -> None:
    recorder.fail = True
    async with httpx.AsyncClient() as client:
        response = await client.post(receiver.url, json={"id": "1", "status": "SUCCESS"})
    assert response.status_code == 500


async def test_url_uses_the_public_address_and_needs_a_start() -> None:
    settings = ProviderSettings(
        webhook_host="127.0.0.1", webhook_port=0, webhook_public_url="https://bot.example/hooks/"
    )
    hook = WebhookReceiver(settings, Recorder(), token="tok")
    with pytest.raises(RuntimeError):
        _ = hook.url
    await hook.start()
    try:
        assert hook.url == f"https://bot.example/hooks{HOOK_PREFIX}tok"
        assert hook.port
    finally:
        await hook.aclose()


def test_receiver_needs_a_host() -> None:
    with pytest.raises(ValueError, match="webhook_host"):
        WebhookReceiver(ProviderSettings(), Recorder())
