"""bot/app.py with gateway sharding: the shard options and the gateway address (issue #12).

discord.py skips ``GET /gateway/bot`` when it is given a shard count and opens Discord's own
gateway (``DiscordWebSocket.DEFAULT_GATEWAY``) instead. The canary below pins that behaviour;
the other tests show that Tessera's bot still opens the gateway ``discord.api_base`` reports.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, cast

import discord
import pytest
import yarl

from bot.app import TesseraBot
from bot.settings import DiscordSettings, Settings
from tests.fakes.discord import FakeDiscord, connected, plain_bot

if TYPE_CHECKING:
    from bot.services import Services

GATEWAY_BOT = "/gateway/bot"
WebSocket = discord.gateway.DiscordWebSocket


@pytest.fixture
def nowhere() -> Iterator[yarl.URL]:
    """A gateway address where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield yarl.URL(f"ws://127.0.0.1:{sock.getsockname()[1]}/gateway")


@pytest.fixture
def default_gateway(monkeypatch: pytest.MonkeyPatch, nowhere: yarl.URL) -> yarl.URL:
    """discord.py's fallback gateway, dead for the test and restored after it."""
    monkeypatch.setattr(WebSocket, "DEFAULT_GATEWAY", nowhere)
    return nowhere


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(wait_bound=10.0) as server:
        yield server


def tessera(fake: FakeDiscord, **discord_settings: object) -> TesseraBot:
    settings = Settings(
        discord=DiscordSettings.model_validate(
            {"api_base": fake.api_base, "guild_ready_timeout": 0.01, **discord_settings}
        )
    )
    # The shell alone: no cogs, and no services (nothing here reads them).
    return TesseraBot(settings=settings, services=cast("Services", object()), extensions=())


async def test_discord_py_with_a_shard_count_skips_gateway_bot_for_the_default_gateway(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Canary: if an upgrade changes this, TesseraBot.connect's hook may no longer be needed.
    monkeypatch.setattr(WebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
    async with connected(plain_bot(shard_count=1), fake):
        [session] = fake.gateway.connected
        assert session.identify["shard"] == [0, 1]
    assert fake.requests_to("GET", GATEWAY_BOT) == []


def test_without_shard_settings_discord_py_picks_the_shards() -> None:
    bot = TesseraBot(settings=Settings(), services=cast("Services", object()))
    assert (bot.shard_count, bot.shard_ids) == (None, None)


def test_the_shard_settings_reach_discord_py() -> None:
    settings = Settings(discord={"shard_count": 3, "shard_ids": [2, 0]})
    bot = TesseraBot(settings=settings, services=cast("Services", object()))
    assert (bot.shard_count, bot.shard_ids) == (3, [2, 0])


async def test_a_sharded_bot_opens_the_gateway_that_api_base_reports(
    fake: FakeDiscord, default_gateway: yarl.URL
) -> None:
    guild = fake.add_guild("on shard 1", shard=(1, 2))
    fake.add_guild("on shard 0", shard=(0, 2))
    bot = tessera(fake, shard_count=2, shard_ids=[1])

    # Opening DEFAULT_GATEWAY (nothing listens there) would never get the bot ready.
    async with connected(bot, fake):
        [session] = fake.gateway.connected
        assert session.identify["shard"] == [1, 2]
        assert [g.id for g in bot.guilds] == [guild.id]
        assert len(fake.requests_to("GET", GATEWAY_BOT)) == 1
        assert yarl.URL(fake.gateway_url) == WebSocket.DEFAULT_GATEWAY


async def test_an_unsharded_bot_leaves_discord_py_to_ask_for_the_gateway(
    fake: FakeDiscord, default_gateway: yarl.URL
) -> None:
    # (One recommended shard: discord.py waits 5 s before each further IDENTIFY.)
    bot = tessera(fake)

    async with connected(bot, fake):
        [session] = fake.gateway.connected
        assert session.identify["shard"] == [0, fake.recommended_shards]
        assert len(fake.requests_to("GET", GATEWAY_BOT)) == 1
        assert bot.shard_count == fake.recommended_shards
        assert default_gateway == WebSocket.DEFAULT_GATEWAY


async def test_fewer_shards_than_discord_recommends_is_a_warning(
    fake: FakeDiscord, default_gateway: yarl.URL, caplog: pytest.LogCaptureFixture
) -> None:
    fake.recommended_shards = 3
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        async with connected(tessera(fake, shard_count=2, shard_ids=[0]), fake):
            pass
    [warning] = [r.getMessage() for r in caplog.records if r.name == "bot.app"]
    assert warning.startswith("discord.shard_count is 2 but Discord recommends 3 shards")
