"""Several processes on one PostgreSQL database: a gateway here, two ``worker`` processes.

The workers are real ``python -m bot worker`` processes talking to the loopback fakes; both
dispatch, sharing the provider's slots. One with jobs running at the provider is killed with
SIGKILL while others wait and one has finished; the survivor adopts its jobs, and every job is
submitted, posted and charged exactly once, and the buttons keep working.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.runtime import Role, Runtime
from bot.settings import Settings
from bot.store.connect import open_database
from tests.cli.conftest import TOKEN
from tests.e2e.processes import owner_pids, running_owner_pids, workers
from tests.e2e.world import EXTENSIONS, World, job_id_of, new_server
from tests.fakes.discord import FakeDiscord, FakeMessage
from tests.fakes.discord.harness import point_discord_at
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy
from tests.postgres import postgres_schema

REPO = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3.0


def worker_environment(settings: Settings, proxy: FakeMidjourneyProxy) -> dict[str, str]:
    """The worker's settings as an operator would give them: environment variables only."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TESSERA_") and name != "DISCORD_TOKEN"
    }
    token = settings.discord.token
    assert token is not None
    env.update(
        PYTHONPATH=str(REPO),
        TESSERA_DISCORD__TOKEN=token.get_secret_value(),
        TESSERA_DISCORD__API_BASE=settings.discord.api_base,
        TESSERA_DISCORD__PROGRESS_EDIT_INTERVAL="0",
        TESSERA_PROVIDER__KIND="midjourney-proxy",
        TESSERA_PROVIDER__BASE_URL=proxy.base_url,
        TESSERA_PROVIDER__MAX_CONCURRENCY="3",
        TESSERA_PROVIDER__POLL_INTERVAL="0.05",
        # A submit cut off by the kill is settled after twice this (found, or sent again).
        TESSERA_PROVIDER__REQUEST_TIMEOUT="2",
        TESSERA_DATABASE__URL=settings.database.url,
        TESSERA_SCHEDULER__LEASE_SECONDS=str(LEASE_SECONDS),
        TESSERA_OUTBOUND__ALLOWED_HOSTS=json.dumps(["127.0.0.1"]),
    )
    return env


async def charges(url: str) -> dict[int, list[str]]:
    """Each job's ledger entries, by kind."""
    database = await open_database(url, migrate=False)
    try:
        async with database.transaction() as tx:
            rows = await tx.fetch_all(
                "SELECT job_id, kind FROM quota_ledger WHERE job_id IS NOT NULL ORDER BY id"
            )
    finally:
        await database.close()
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(int(row[0]), []).append(str(row[1]))
    return found


def results(world: World) -> list[FakeMessage]:
    return [
        message
        for message in world.discord.messages.values()
        if message.channel_id == world.channel.id and message.attachments
    ]


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    # `python -m bot worker` refuses a token that does not look like one; the bound leaves
    # room for the processes to start (they import discord.py and connect to PostgreSQL).
    async with FakeDiscord(token=TOKEN, wait_bound=60.0) as fake:
        yield fake


async def test_a_killed_worker_is_taken_over_and_every_job_finishes_exactly_once(
    tmp_path: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> None:
    async with postgres_schema() as url:
        guild, channel, member, settings = new_server(tmp_path / "unused.db", discord_fake, proxy)
        settings = settings.model_copy(
            update={"database": settings.database.model_copy(update={"url": url})}
        )
        gateway = Runtime(settings, extensions=EXTENSIONS, role=Role.GATEWAY)
        point_discord_at(discord_fake)
        await gateway.launch()
        try:
            async with asyncio.timeout(discord_fake.wait_bound):
                await discord_fake.wait_until_connected()
                await gateway.bot.wait_until_ready()
            world = World(discord_fake, proxy, settings, gateway, guild, channel, member)
            env = worker_environment(settings, proxy)
            async with workers([env, env], tmp_path) as (first, second):
                # Both have started (each asks the provider once before it claims its lease).
                await proxy.wait_until(lambda: proxy.count("/task/tessera-check/fetch") == 2)
                # Five jobs, three provider slots over both workers: three run, two wait.
                for n in range(5):
                    await world.imagine(f"lighthouse number {n}")
                await proxy.wait_until(lambda: len(proxy.tasks) == 3)
                # One finishes and is posted before the kill.
                await proxy.complete(next(iter(proxy.tasks)))
                await discord_fake.wait_until(lambda: len(results(world)) == 1)
                # The gateway submitted nothing and posted nothing itself.
                assert gateway.services.dispatcher.in_flight == 0

                # Kill a worker that has jobs running at the provider.
                victim = min(await running_owner_pids(url))
                survivor = second if victim == first.pid else first
                assert victim in {first.pid, second.pid}
                os.kill(victim, signal.SIGKILL)
                # Its tasks go on at the provider while nobody tracks them.
                await proxy.complete_all()

                # The survivor adopts them, posts them, and submits the waiting jobs.
                await proxy.wait_until(lambda: len(proxy.tasks) == 5, bound=LEASE_SECONDS + 30)
                while len(results(world)) < 5:
                    await proxy.complete_all()
                    await discord_fake.wait_until(
                        lambda: len(results(world)) == 5 or not all_done(proxy)
                    )
                assert await owner_pids(url) <= {survivor.pid}

                # The buttons of a result made before the kill still work.
                posted = results(world)
                before = min(posted, key=lambda message: message.id)
                await world.press(before, "u1")
                await proxy.wait_until(lambda: len(proxy.tasks) == 6)
                await proxy.complete_all()
                await discord_fake.wait_until(lambda: len(results(world)) == 6)
        finally:
            await gateway.close()

        posted = results(world)
        job_ids = [job_id_of(message.custom_ids()) for message in posted]
        assert len(set(job_ids)) == len(job_ids) == 6  # each job posted once
        assert len(proxy.submissions) == 6  # each submitted once
        ledger = await charges(url)
        assert sorted(ledger) == sorted(job_ids)
        assert all(kinds == ["reserve", "commit"] for kinds in ledger.values()), ledger


def all_done(proxy: FakeMidjourneyProxy) -> bool:
    return all(task.terminal for task in proxy.tasks.values())


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    from tests.postgres import postgres_url

    postgres_url()  # skips, saying why, where no server is configured
