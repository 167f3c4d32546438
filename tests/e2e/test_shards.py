"""Issue #12: two bots, one shard each, split the guilds of one fake Discord.

Each bot asks ``discord.api_base`` for the gateway. In process, discord.py's own fallback
(Discord's gateway) is replaced by an address where nothing listens, so a bot that went there
would never get ready; a separate process could not reach this fake from there either.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
import yarl

from bot.settings import Settings
from tests.cli.conftest import TOKEN
from tests.e2e.world import World, job_id_of, make_settings, running
from tests.fakes.discord import FakeDiscord
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy
from tests.test_app_shards import default_gateway, nowhere  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[2]
SHARDS = 2


def sharded(settings: Settings, shard_id: int) -> Settings:
    """``settings`` running shard ``shard_id`` of ``SHARDS``."""
    discord_settings = settings.discord.model_copy(
        update={"shard_count": SHARDS, "shard_ids": (shard_id,)}
    )
    return settings.model_copy(update={"discord": discord_settings})


@pytest.mark.usefixtures("default_gateway")
async def test_two_runtimes_split_the_guilds_by_shard(
    tmp_path: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        worlds = []
        for shard_id in range(SHARDS):
            guild = discord_fake.add_guild(f"guild {shard_id}", shard=(shard_id, SHARDS))
            channel = discord_fake.add_channel(guild)
            member = discord_fake.add_member(guild, "alice")
            # One database each: this test is about the gateway, not about sharing the store.
            settings = make_settings(tmp_path / f"shard-{shard_id}.db", discord_fake, proxy)
            settings = sharded(settings, shard_id)
            runtime = await stack.enter_async_context(running(settings, discord_fake))
            worlds.append(World(discord_fake, proxy, settings, runtime, guild, channel, member))

        shards = sorted(s.identify["shard"] for s in discord_fake.gateway.connected)
        assert shards == [[0, SHARDS], [1, SHARDS]]
        assert len(discord_fake.requests_to("GET", "/gateway/bot")) == SHARDS
        gateway = yarl.URL(discord_fake.gateway_url)
        assert gateway == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        for world in worlds:
            assert [g.id for g in world.runtime.bot.guilds] == [world.guild.id]

        for world in reversed(worlds):
            answer = await world.imagine(f"a lighthouse in {world.guild.name}")
            assert answer.content.startswith("Queued 1 job (#")
            [status] = world.statuses()
            # The runtime that owns the guild's shard took the job, into its own database.
            job = await world.runtime.services.jobs.get(job_id_of(status.custom_ids()))
            assert job.guild_id == world.guild.id
            await world.run_jobs()
            result = await world.result_for(lambda m: True)
            assert result.content.startswith(f"**a lighthouse in {world.guild.name}")


@pytest.fixture
async def fake_with_a_real_token() -> AsyncIterator[FakeDiscord]:
    # `python -m bot run` refuses a token that does not look like one; the bound leaves room
    # for two interpreters to start on a loaded machine.
    async with FakeDiscord(token=TOKEN, wait_bound=60.0) as fake:
        yield fake


def _bot_environment(
    tmp_path: Path, fake: FakeDiscord, proxy: FakeMidjourneyProxy, shard_id: int
) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TESSERA_") and name != "DISCORD_TOKEN"
    }
    env.update(
        PYTHONPATH=str(REPO),
        TESSERA_DISCORD__TOKEN=fake.token,
        TESSERA_DISCORD__API_BASE=fake.api_base,
        TESSERA_DISCORD__GUILD_READY_TIMEOUT="0.05",
        TESSERA_DISCORD__SHARD_COUNT=str(SHARDS),
        TESSERA_DISCORD__SHARD_IDS=f"[{shard_id}]",
        TESSERA_PROVIDER__BASE_URL=proxy.base_url,
        TESSERA_DATABASE__URL=f"sqlite:///{tmp_path / f'shard-{shard_id}.db'}",
    )
    return env


def logs(tmp_path: Path) -> str:
    """What the bot processes printed, to explain a failure."""
    return "\n".join(path.read_text() for path in sorted(tmp_path.glob("shard-*.log")))


@contextlib.asynccontextmanager
async def bot_process(
    tmp_path: Path, fake: FakeDiscord, proxy: FakeMidjourneyProxy, shard_id: int
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``python -m bot run`` for one shard; stopped with SIGTERM, as ``docker stop`` does."""
    log = (tmp_path / f"shard-{shard_id}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=_bot_environment(tmp_path, fake, proxy, shard_id),
        stdout=log,
        stderr=log,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            log.close()


async def test_two_bot_processes_configured_by_the_environment_split_the_guilds(
    tmp_path: Path,
    fake_with_a_real_token: FakeDiscord,
    proxy: FakeMidjourneyProxy,
) -> None:
    # A process that opened discord.py's default gateway (Discord's own) would never reach
    # this fake: each one seen here found it through api_base.
    fake = fake_with_a_real_token
    async with contextlib.AsyncExitStack() as stack:
        guilds = [fake.add_guild(f"guild {i}", shard=(i, SHARDS)) for i in range(SHARDS)]
        channels = [fake.add_channel(guild) for guild in guilds]
        members = [fake.add_member(guild, "alice") for guild in guilds]
        processes = [
            await stack.enter_async_context(bot_process(tmp_path, fake, proxy, shard_id))
            for shard_id in range(SHARDS)
        ]

        def ready() -> bool:
            # READY and then the guild's GUILD_CREATE went out to each shard's session.
            sessions = fake.gateway.connected
            return len(sessions) == SHARDS and all(s.seq >= 2 for s in sessions)

        waiting = asyncio.create_task(fake.wait_until(ready))
        exits = {asyncio.create_task(process.wait()) for process in processes}
        done, _ = await asyncio.wait({waiting, *exits}, return_when=asyncio.FIRST_COMPLETED)
        for task in exits:
            task.cancel()
        if waiting not in done:
            waiting.cancel()
            pytest.fail(f"a bot process ended before both shards were up:\n{logs(tmp_path)}")
        waiting.result()
        shards = sorted(s.identify["shard"] for s in fake.gateway.connected)
        assert shards == [[0, SHARDS], [1, SHARDS]]
        assert len(fake.requests_to("GET", "/gateway/bot")) == SHARDS
        for guild, channel, member in zip(guilds, channels, members, strict=True):
            record = await fake.invoke_slash(
                guild, channel, member.user, "imagine", {"prompt": guild.name}
            )
            assert (await record.response()).accepted

        for process in processes:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            codes = [await process.wait() for process in processes]
        assert codes == [0, 0], logs(tmp_path)
