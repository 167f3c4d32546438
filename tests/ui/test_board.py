"""StatusBoard: posting status lines, catching up, deleted messages and refused channels."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.errors import NotAllowed
from bot.model import Job, JobState
from bot.ui.board import StatusBoard
from tests.ui.jobs import make_job


def http_error(kind: type[discord.HTTPException], status: int, code: int) -> discord.HTTPException:
    response = SimpleNamespace(status=status, reason="refused")
    return kind(response, {"code": code, "message": "refused"})  # type: ignore[arg-type]


@dataclass
class Message:
    id: int
    channel: Channel

    async def edit(self, **fields: Any) -> None:
        if self.id in self.channel.deleted:
            raise http_error(discord.NotFound, 404, 10008)
        self.channel.edits.append((self.id, fields))


@dataclass
class Channel:
    """A PartialMessageable recording sends and edits."""

    send_error: BaseException | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)
    edits: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    deleted: set[int] = field(default_factory=set)

    async def send(self, content: str, **options: Any) -> Message:
        if self.send_error is not None:
            raise self.send_error
        self.sent.append({"content": content, **options})
        return Message(500 + len(self.sent), self)

    def get_partial_message(self, message_id: int) -> Message:
        return Message(message_id, self)


@dataclass
class Client:
    the_channel: Channel

    def get_partial_messageable(self, channel_id: int, *, guild_id: int | None = None) -> Channel:
        return self.the_channel


@dataclass
class Jobs:
    """The part of JobService the board uses, over one stored job."""

    stored: Job
    status_ids: list[int | None] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)

    async def set_status_message(self, job_id: int, message_id: int | None) -> None:
        self.status_ids.append(message_id)
        self.stored = dataclasses.replace(self.stored, status_message_id=message_id)

    async def get(self, job_id: int) -> Job:
        return self.stored

    async def cancel(self, job_id: int, *, user_id: int, moderator: bool = False) -> Job:
        self.cancelled.append(job_id)
        return self.stored


def board_for(channel: Channel, jobs: Jobs) -> StatusBoard:
    board = StatusBoard(jobs, edit_interval=0)  # type: ignore[arg-type]
    board.bind(Client(channel))  # type: ignore[arg-type]
    return board


async def test_announce_posts_the_line_with_cancel_and_stores_its_id() -> None:
    channel, jobs = Channel(), Jobs(make_job())
    board = board_for(channel, jobs)
    assert await board.announce(make_job()) == 501
    [sent] = channel.sent
    assert sent["content"].endswith("(Waiting to start) (fast)")
    assert [item.custom_id for item in sent["view"].children] == ["job:42:cancel"]
    assert jobs.status_ids == [501]
    await board.flush()
    assert channel.edits == []


async def test_announce_catches_up_with_a_job_that_already_moved() -> None:
    channel = Channel()
    jobs = Jobs(make_job(state=JobState.SUCCEEDED))
    board = board_for(channel, jobs)
    await board.announce(make_job())
    await board.flush()
    [(message_id, fields)] = channel.edits
    assert message_id == 501
    assert fields["content"].endswith("(Done)")
    assert fields["view"] is None


async def test_a_refused_channel_cancels_the_job() -> None:
    channel = Channel(send_error=http_error(discord.Forbidden, 403, 50013))
    jobs = Jobs(make_job())
    with pytest.raises(NotAllowed):
        await board_for(channel, jobs).announce(make_job())
    assert jobs.cancelled == [42]


async def test_a_failed_job_whose_status_was_deleted_gets_a_new_line() -> None:
    channel = Channel(deleted={77})
    failed = make_job(state=JobState.FAILED, status_message_id=77)
    jobs = Jobs(failed)
    board = board_for(channel, jobs)
    board.show(failed)
    await board.flush()
    [sent] = channel.sent
    assert "Failed:" in sent["content"]
    assert jobs.status_ids == [501]


async def test_progress_on_a_deleted_status_stops_editing() -> None:
    channel = Channel(deleted={77})
    board = board_for(channel, Jobs(make_job()))
    running = make_job(state=JobState.RUNNING, progress=25, status_message_id=77)
    board.show(running)
    await board.flush()
    board.show(dataclasses.replace(running, progress=50))
    await board.flush()
    assert channel.sent == []
    assert channel.edits == []


async def test_jobs_without_a_status_message_are_not_edited() -> None:
    channel = Channel()
    board = board_for(channel, Jobs(make_job()))
    board.show(make_job(state=JobState.RUNNING, progress=50))
    await board.flush()
    assert channel.edits == []


async def test_a_refused_channel_cancels_every_remaining_job() -> None:
    channel = Channel(send_error=http_error(discord.Forbidden, 403, 50013))
    jobs = Jobs(make_job())
    batch = [make_job(id=1), make_job(id=2), make_job(id=3)]
    with pytest.raises(NotAllowed):
        await board_for(channel, jobs).announce_all(batch)
    assert jobs.cancelled == [1, 2, 3]
