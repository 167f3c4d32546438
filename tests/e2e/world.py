"""The real Tessera runtime against a fake Discord and a fake midjourney-proxy (fixtures)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.runtime import Runtime
from bot.settings import Settings
from tests.fakes.discord import (
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeMember,
    FakeMessage,
    point_discord_at,
)
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy

EXTENSIONS = ("cogs.imagine", "cogs.moderation")
GRID_BUTTONS = ["u1", "u2", "u3", "u4", "reroll", "v1", "v2", "v3", "v4", "info"]


def job_id_of(custom_ids: list[str]) -> int:
    """The job id in the first ``job:<id>:<action>`` custom id."""
    match = re.fullmatch(r"job:(\d+):\w+", custom_ids[0])
    assert match is not None
    return int(match.group(1))


def tokens(custom_ids: list[str]) -> list[str]:
    """The action tokens of job buttons, in layout order."""
    return [custom_id.split(":")[2] for custom_id in custom_ids]


def make_settings(
    database: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> Settings:
    """Settings pointing at the two fakes; no edit throttling so tests see every state."""
    return Settings(
        discord={
            "token": discord_fake.token,
            "api_base": discord_fake.api_base,
            "progress_edit_interval": 0,
            "guild_ready_timeout": 0.05,
        },
        provider={"base_url": proxy.base_url, "max_concurrency": 3, "poll_interval": 0.05},
        database={"url": f"sqlite:///{database}"},
        # The fakes serve result images on loopback: allowed by name, as an operator would.
        outbound={"allowed_hosts": ["127.0.0.1"]},
    )


def new_server(
    database: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> tuple[FakeGuild, FakeChannel, FakeMember, Settings]:
    """A guild with one channel and one member, and settings pointing at the fakes."""
    guild = discord_fake.add_guild("Guild")
    channel = discord_fake.add_channel(guild)
    member = discord_fake.add_member(guild, "alice")
    return guild, channel, member, make_settings(database, discord_fake, proxy)


@dataclass
class World:
    """Everything an end-to-end test touches."""

    discord: FakeDiscord
    proxy: FakeMidjourneyProxy
    settings: Settings
    runtime: Runtime
    guild: FakeGuild
    channel: FakeChannel
    member: FakeMember

    async def imagine(self, prompt: str, member: FakeMember | None = None) -> FakeMessage:
        """Run ``/imagine prompt`` and return the ephemeral message that ends the command."""
        who = (member or self.member).user
        record = await self.discord.invoke_slash(
            self.guild, self.channel, who, "imagine", {"prompt": prompt}
        )
        await record.response()
        return await self.answer_of(record)

    async def answer_of(self, record: Any) -> FakeMessage:
        """The first finished (not "thinking...") message answering ``record``."""

        def answered() -> FakeMessage | None:
            candidates = [record.original, *record.followups]
            return next((m for m in candidates if m is not None and not m.loading), None)

        found: FakeMessage = await self.discord.wait_until(answered)
        return found

    async def press(
        self, message: FakeMessage, token: str, member: FakeMember | None = None
    ) -> Any:
        """Press ``job:<id>:<token>`` on ``message``; return the interaction record."""
        [custom_id] = [c for c in message.custom_ids() if c.endswith(f":{token}")]
        who = (member or self.member).user
        record = await self.discord.invoke_component(message, custom_id, who)
        await record.response()
        return record

    def statuses(self) -> list[FakeMessage]:
        """Status messages still offering Cancel, oldest first."""
        return [
            m
            for m in self.discord.messages.values()
            if m.channel_id == self.channel.id
            and any(c.endswith(":cancel") for c in m.custom_ids())
        ]

    async def status_of(self, job_id: int) -> FakeMessage:
        """The status message of job ``job_id`` once it is posted."""
        return await self.discord.wait_for_message(
            self.channel, lambda m: f"job:{job_id}:cancel" in m.custom_ids()
        )

    async def run_jobs(self) -> None:
        """Dispatch, let the provider finish every task, and deliver: no sleeping."""
        await self.runtime.settle()
        while self.proxy_busy():
            await self.proxy.complete_all()
            await self.runtime.settle()

    def proxy_busy(self) -> bool:
        return any(not task.terminal for task in self.proxy.tasks.values())

    async def result_for(self, predicate: Callable[[FakeMessage], bool]) -> FakeMessage:
        """The first result message (with an attachment) matching ``predicate``."""
        return await self.discord.wait_for_message(
            self.channel, lambda m: bool(m.attachments) and predicate(m)
        )


@contextlib.asynccontextmanager
async def running(settings: Settings, discord_fake: FakeDiscord) -> AsyncIterator[Runtime]:
    """A launched runtime whose bot is ready; closed on the way out."""
    runtime = Runtime(settings, extensions=EXTENSIONS, run_dispatcher=False)
    point_discord_at(discord_fake)
    await runtime.launch()
    try:
        async with asyncio.timeout(discord_fake.wait_bound):
            await discord_fake.wait_until_connected()
            await runtime.bot.wait_until_ready()
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(wait_bound=20.0) as fake:
        yield fake


@pytest.fixture
async def proxy() -> AsyncIterator[FakeMidjourneyProxy]:
    async with FakeMidjourneyProxy(concurrency=3) as fake:
        yield fake


@pytest.fixture
async def world(
    tmp_path: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> AsyncIterator[World]:
    guild, channel, member, settings = new_server(tmp_path / "tessera.db", discord_fake, proxy)
    async with running(settings, discord_fake) as runtime:
        yield World(discord_fake, proxy, settings, runtime, guild, channel, member)
