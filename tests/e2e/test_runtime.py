"""The runtime's life cycle: start until closed, idempotent close, command sync, no token."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.runtime import Runtime
from tests.e2e.world import EXTENSIONS, World, make_settings, new_server, running
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


async def test_the_webhook_receiver_delivers_without_polling(
    tmp_path: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> None:
    guild, channel, member, settings = new_server(tmp_path / "t.db", discord_fake, proxy)
    hooked = settings.provider.model_copy(update={"webhook_host": "127.0.0.1", "webhook_port": 0})
    settings = settings.model_copy(update={"provider": hooked})
    async with running(settings, discord_fake) as runtime:
        world = World(discord_fake, proxy, settings, runtime, guild, channel, member)
        await world.imagine("a hooked fish")
        await runtime.settle()
        [task] = proxy.tasks.values()
        assert task.notify_hook is not None
        polls = proxy.count("list-by")
        await proxy.complete_all()
        # No settle(): the provider's callbacks alone drive the job to its result.
        result = await world.result_for(lambda m: True)
        assert result.content.startswith("**a hooked fish")
        # Each push is only a hint: it costs one read of its task, and nothing more.
        assert proxy.count("list-by") - polls <= len(proxy.hook_deliveries)


async def test_the_dispatcher_starts_only_once_the_bot_has_logged_in(
    tmp_path: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> None:
    settings = make_settings(tmp_path / "t.db", discord_fake, proxy)
    runtime = Runtime(settings, extensions=EXTENSIONS)
    await runtime.open()
    dispatcher = runtime.services.dispatcher
    start = dispatcher.start
    logged_in_at_start: list[bool] = []

    async def observed_start() -> None:
        # Recovery and the first poll may edit and post at once: that needs a REST session.
        logged_in_at_start.append(runtime.bot.user is not None)
        await start()

    dispatcher.start = observed_start  # type: ignore[method-assign]
    try:
        await runtime.launch()
        async with asyncio.timeout(discord_fake.wait_bound):
            await runtime.dispatching.wait()
        assert logged_in_at_start == [True]
        # The one process on this database holds the dispatch lease, and says so.
        await runtime.refresh_metrics()
        assert 'tessera_dispatching{role="run"} 1.0' in runtime.metrics.exposition().decode()
    finally:
        await runtime.close()


async def test_a_task_finished_while_down_is_posted_after_a_restart(
    tmp_path: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> None:
    guild, channel, member, settings = new_server(tmp_path / "t.db", discord_fake, proxy)
    async with running(settings, discord_fake) as first:
        world = World(discord_fake, proxy, settings, first, guild, channel, member)
        await world.imagine("a lighthouse at dusk")
        await first.settle()
    await proxy.complete_all()

    runtime = Runtime(settings, extensions=EXTENSIONS)
    try:
        await runtime.launch()
        result = await world.result_for(lambda m: True)
        assert result.content.startswith("**a lighthouse at dusk")
    finally:
        await runtime.close()
