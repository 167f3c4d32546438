"""DiscordDeliverer: download, post with a reply, and every way Discord can refuse."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
import pytest

from bot.errors import FailureKind, ProviderRejected, ProviderUnavailable
from bot.jobs import DeliveryFailed
from bot.model import Job, JobState
from bot.providers.base import DownloadedImage, TaskState, TaskStatus
from bot.ui.delivery import DiscordDeliverer
from tests.ui.jobs import make_job


def http_error(kind: type[discord.HTTPException], status: int, code: int) -> discord.HTTPException:
    response = SimpleNamespace(status=status, reason="refused")
    return kind(response, {"code": code, "message": "refused"})  # type: ignore[arg-type]


@dataclass
class ScriptedChannel:
    """A PartialMessageable whose ``send`` raises the scripted errors, then succeeds."""

    errors: list[BaseException] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    delete_error: BaseException | None = None

    async def send(self, content: str, **options: Any) -> Any:
        self.sent.append({"content": content, **options})
        if self.errors:
            raise self.errors.pop(0)
        return SimpleNamespace(id=900 + len(self.sent))

    def get_partial_message(self, message_id: int) -> Any:
        async def delete() -> None:
            if self.delete_error is not None:
                raise self.delete_error
            self.deleted.append(message_id)

        return SimpleNamespace(id=message_id, delete=delete)


@dataclass
class Board:
    the_channel: ScriptedChannel

    def channel(self, job: Job) -> ScriptedChannel:
        return self.the_channel


@dataclass
class Provider:
    error: BaseException | None = None
    asked: list[tuple[str, int]] = field(default_factory=list)

    async def result_image(self, task: TaskState, *, max_bytes: int) -> DownloadedImage:
        self.asked.append((task.image_url or "", max_bytes))
        if self.error is not None:
            raise self.error
        return DownloadedImage(data=b"\x89PNG", content_type="image/png", filename="grid.png")


@dataclass
class Jobs:
    job: Job

    async def get(self, job_id: int) -> Job:
        return self.job


TASK = TaskState(task_id="t1", status=TaskStatus.SUCCESS, image_url="https://cdn.example/g.png")


def deliverer(channel: ScriptedChannel, provider: Provider, job: Job) -> DiscordDeliverer:
    return DiscordDeliverer(
        Board(channel),  # type: ignore[arg-type]
        provider,  # type: ignore[arg-type]
        Jobs(job),  # type: ignore[arg-type]
        max_upload_bytes=8_000_000,
        since=0.0,  # every job here started in this process: no look for an earlier post
    )


@pytest.mark.parametrize("state", [JobState.CANCELLED, JobState.FAILED, JobState.SUCCEEDED])
async def test_a_job_no_longer_running_is_not_posted(state: JobState) -> None:
    # Cancelled between "task finished" and the post: the result is ignored, the refund stands.
    channel = ScriptedChannel()
    stored = make_job(state=state, status_message_id=77)
    with pytest.raises(DeliveryFailed) as caught:
        await deliverer(channel, Provider(), stored).deliver(make_job(state=JobState.RUNNING), TASK)
    assert not caught.value.retryable
    assert channel.sent == []


async def test_posts_a_reply_to_the_stored_status_message() -> None:
    channel, provider = ScriptedChannel(), Provider()
    stored = make_job(state=JobState.RUNNING, status_message_id=77)
    # The dispatcher's copy predates the status message id: the stored one is used.
    message_id = await deliverer(channel, provider, stored).deliver(make_job(), TASK)
    assert message_id == 901
    assert provider.asked == [("https://cdn.example/g.png", 8_000_000)]
    [sent] = channel.sent
    assert sent["reference"].message_id == 77
    assert sent["reference"].fail_if_not_exists is False
    assert sent["file"].filename == "grid.png"
    assert len(sent["view"].children) == 10


@pytest.mark.parametrize(
    "error",
    [
        http_error(discord.NotFound, 404, 10008),
        http_error(discord.HTTPException, 400, 50035),
    ],
)
async def test_a_missing_status_message_means_posting_without_the_reply(
    error: discord.HTTPException,
) -> None:
    channel = ScriptedChannel(errors=[error])
    job = make_job(state=JobState.RUNNING, status_message_id=77)
    assert await deliverer(channel, Provider(), job).deliver(job, TASK) == 902
    assert [sent["reference"] is None for sent in channel.sent] == [False, True]


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (http_error(discord.DiscordServerError, 503, 0), True),
        (aiohttp.ClientConnectionError("reset"), True),
        (TimeoutError(), True),
        (http_error(discord.HTTPException, 429, 0), True),
        (http_error(discord.Forbidden, 403, 50013), False),
        (http_error(discord.HTTPException, 400, 50006), False),
    ],
)
async def test_discord_refusals_become_delivery_failures(
    error: BaseException, retryable: bool
) -> None:
    channel = ScriptedChannel(errors=[error])
    job = make_job(state=JobState.RUNNING, status_message_id=None)
    with pytest.raises(DeliveryFailed) as caught:
        await deliverer(channel, Provider(), job).deliver(job, TASK)
    assert caught.value.retryable is retryable


async def test_an_unknown_channel_is_final() -> None:
    channel = ScriptedChannel(errors=[http_error(discord.NotFound, 404, 10003)])
    job = make_job(state=JobState.RUNNING, status_message_id=None)
    with pytest.raises(DeliveryFailed) as caught:
        await deliverer(channel, Provider(), job).deliver(job, TASK)
    assert not caught.value.retryable


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (ProviderUnavailable("down"), True),
        (ProviderRejected("gone", kind=FailureKind.PARENT_EXPIRED), False),
    ],
)
async def test_download_failures(error: BaseException, retryable: bool) -> None:
    job = make_job(state=JobState.RUNNING)
    with pytest.raises(DeliveryFailed) as caught:
        await deliverer(ScriptedChannel(), Provider(error), job).deliver(job, TASK)
    assert caught.value.retryable is retryable


async def test_a_task_without_an_image_is_final() -> None:
    job = make_job()
    empty = TaskState(task_id="t1", status=TaskStatus.SUCCESS)
    with pytest.raises(DeliveryFailed) as caught:
        await deliverer(ScriptedChannel(), Provider(), job).deliver(job, empty)
    assert not caught.value.retryable


async def test_a_refusal_of_the_fallback_post_is_a_delivery_failure() -> None:
    errors: list[BaseException] = [
        http_error(discord.NotFound, 404, 10008),
        http_error(discord.Forbidden, 403, 50013),
    ]
    channel = ScriptedChannel(errors=errors)
    job = make_job(state=JobState.RUNNING, status_message_id=77)
    with pytest.raises(DeliveryFailed) as caught:
        await deliverer(channel, Provider(), job).deliver(job, TASK)
    assert not caught.value.retryable
    assert len(channel.sent) == 2


async def test_retract_deletes_the_posted_result() -> None:
    channel = ScriptedChannel()
    job = make_job(state=JobState.CANCELLED)
    await deliverer(channel, Provider(), job).retract(job, 901)
    assert channel.deleted == [901]


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (http_error(discord.NotFound, 404, 10008), False),  # already gone: nothing to do
        (http_error(discord.Forbidden, 403, 50013), True),  # the settler logs it
    ],
)
async def test_retract_of_a_message_discord_refuses(
    error: discord.HTTPException, raised: bool
) -> None:
    channel = ScriptedChannel(delete_error=error)
    job = make_job(state=JobState.CANCELLED)
    if raised:
        with pytest.raises(discord.Forbidden):
            await deliverer(channel, Provider(), job).retract(job, 901)
    else:
        await deliverer(channel, Provider(), job).retract(job, 901)
    assert channel.deleted == []
