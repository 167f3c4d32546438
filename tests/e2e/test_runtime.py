"""The runtime's life cycle: start until closed, idempotent close, command sync, no token."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.runtime import Runtime
from tests.e2e.world import EXTENSIONS, make_settings
from tests.fakes.discord import FakeDiscord
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy


async def test_start_returns_once_closed_and_close_is_idempotent(
    tmp_path: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> None:
    settings = make_settings(tmp_path / "t.db", discord_fake, proxy)
    runtime = Runtime(settings, extensions=EXTENSIONS)
    started = asyncio.create_task(runtime.start())
    await discord_fake.wait_until_connected()
    async with asyncio.timeout(discord_fake.wait_bound):
        await runtime.bot.wait_until_ready()
    assert runtime.services.dispatcher.in_flight == 0
    await runtime.close()
    await started
    await runtime.close()
    with pytest.raises(RuntimeError):
        _ = runtime.services


async def test_sync_commands_publishes_to_one_guild(
    tmp_path: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> None:
    guild = discord_fake.add_guild("Guild")
    settings = make_settings(tmp_path / "t.db", discord_fake, proxy)
    count = await Runtime(settings, extensions=EXTENSIONS).sync_commands(guild.id)
    names = {command["name"] for command in discord_fake.commands[guild.id]}
    assert count == len(names)
    assert {"imagine", "quota", "guild-config"} <= names


async def test_start_without_a_token_names_the_setting(
    tmp_path: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> None:
    settings = make_settings(tmp_path / "t.db", discord_fake, proxy)
    settings = settings.model_copy(
        update={"discord": settings.discord.model_copy(update={"token": None})}
    )
    runtime = Runtime(settings, extensions=EXTENSIONS)
    try:
        with pytest.raises(ConfigError, match="TESSERA_DISCORD__TOKEN"):
            await runtime.start()
    finally:
        await runtime.close()
