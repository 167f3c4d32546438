"""Scale benchmark: Tessera on PostgreSQL and in several processes (issue #12).

Measured in one run against the PostgreSQL server ``TESSERA_TEST_POSTGRES_URL`` names
(default: postgresql://postgres@127.0.0.1:5432/test; each figure in a schema of its own,
dropped afterwards):

- throughput_jobs_per_s_sqlite / _postgresql: scheduler_bench's workload (submit, dispatch,
  poll and deliver 2,000 jobs with an instant provider) on each store, one process;
- claim_p99_ms_100k_queued_1000_guilds: the dispatcher's claim (the conditional UPDATE
  queued -> submitting, one transaction) with 100,000 jobs of 1,000 guilds waiting (target
  <= 10);
- recovery_s_100k_postgresql: a new dispatcher over those 100,000 jobs until it has claimed its
  first job again;
- takeover_s: two ``python -m bot worker`` processes with the loopback fakes; one with jobs
  running is killed with SIGKILL; seconds until the other asks the provider about them
  (target <= lease + 2 s; here the dead process is of this host, so it is adopted at the
  next look, a third of the lease);
- scale_2_workers, scale_4_workers: throughput of 2 and 4 ``worker`` processes over 1 (targets
  >= 1.8 and >= 3.4): 96 jobs, each worker with a provider of its own (as on its own GPU
  machine) of 2 slots whose renders take ~0.5 s of simulated time (workers wait, not compute).

Run: python bench/scale_bench.py   (a few lines, then one JSON line)
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
# Before tests.postgres reads it.
os.environ.setdefault("TESSERA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

from scheduler_bench import build, throughput, waiting_job

from bot.model import JobState, SpeedMode
from bot.settings import Settings
from bot.store.connect import open_database
from bot.store.jobs import JobRepository
from tests.cli.conftest import TOKEN
from tests.e2e.processes import running_owner_pids, workers
from tests.fakes.discord import FakeDiscord
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy
from tests.postgres import postgres_schema

QUEUED = 100_000
GUILDS = 1_000
CLAIMS = 1_000
LEASE_SECONDS = 3.0
POLL_INTERVAL = "0.1"
"""Each worker polls its provider this often: on these 2 cores, 4 workers polling every 0.05 s
spend the CPU the fakes need."""
REPO = Path(__file__).resolve().parents[1]


async def fill(url: str) -> list[int]:
    """``QUEUED`` waiting jobs of ``GUILDS`` guilds, 1,000 a transaction; their ids."""
    database = await open_database(url)
    repo = JobRepository()
    ids: list[int] = []
    try:
        for first in range(0, QUEUED, 1_000):
            batch = [
                waiting_job(n, guilds=GUILDS, users=20_000) for n in range(first, first + 1_000)
            ]
            async with database.transaction() as tx:
                ids.extend(job.id for job in await repo.insert_many(tx, batch, now=time.time()))
    finally:
        await database.close()
    return ids


async def claims(url: str, ids: list[int]) -> float:
    """The p99 of ``CLAIMS`` claims of waiting jobs, in milliseconds."""
    database = await open_database(url)
    repo = JobRepository()
    times = []
    try:
        for job_id in random.Random(1).sample(ids, CLAIMS):
            started = time.perf_counter()
            async with database.transaction() as tx:
                claimed = await repo.transition(
                    tx, job_id, JobState.QUEUED, JobState.SUBMITTING, now=time.time()
                )
            if claimed is not None:  # not one the recovery run claimed before
                times.append((time.perf_counter() - started) * 1000)
    finally:
        await database.close()
    return statistics.quantiles(times, n=100)[98]


async def recovery(url: str) -> float:
    started = time.perf_counter()
    db, _, dispatcher, provider = await build(url, slots=10)
    await dispatcher.recover()
    await dispatcher._submitter.dispatch()
    elapsed = time.perf_counter() - started
    assert provider.requests, "nothing was dispatched after recovery"
    await db.close()
    return elapsed


def worker_env(url: str, discord: FakeDiscord, proxy: FakeMidjourneyProxy) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("TESSERA_")}
    env.update(
        PYTHONPATH=str(REPO),
        TESSERA_DISCORD__TOKEN=discord.token,
        TESSERA_DISCORD__API_BASE=discord.api_base,
        TESSERA_PROVIDER__KIND="midjourney-proxy",
        TESSERA_PROVIDER__BASE_URL=proxy.base_url,
        TESSERA_PROVIDER__MAX_CONCURRENCY=str(proxy.concurrency),
        TESSERA_PROVIDER__POLL_INTERVAL=POLL_INTERVAL,
        TESSERA_DATABASE__URL=url,
        TESSERA_SCHEDULER__LEASE_SECONDS=str(LEASE_SECONDS),
        TESSERA_SCHEDULER__MAX_RUNNING_PER_USER="50",
        TESSERA_OUTBOUND__ALLOWED_HOSTS='["127.0.0.1"]',
    )
    return env


def probed(proxy: FakeMidjourneyProxy) -> int:
    """Workers started against ``proxy`` (each asks it once before it dispatches)."""
    return proxy.count("/task/tessera-check/fetch")


async def takeover(url: str) -> float:
    """Seconds from killing a worker with jobs running to the other asking the provider."""
    async with (
        FakeDiscord(token=TOKEN, wait_bound=60.0) as discord,
        FakeMidjourneyProxy(concurrency=3) as proxy,
    ):
        guild = discord.add_guild("Guild")
        channel = discord.add_channel(guild)
        member = discord.add_member(guild, "alice")
        await (await open_database(url)).close()
        env = worker_env(url, discord, proxy)
        with tempfile.TemporaryDirectory() as folder:
            async with workers([env, env], Path(folder)):
                await proxy.wait_until(lambda: probed(proxy) == 2)
                await queue_jobs(url, channel.id, guild.id, member.user.id, count=5)
                await proxy.wait_until(lambda: len(proxy.tasks) == 3)
                victim = min(await running_owner_pids(url))
                # The adopter's first request comes on a connection of its own; one the victim
                # had under way would come on a known one.
                known = set(proxy.connections)
                os.kill(victim, signal.SIGKILL)
                killed = time.perf_counter()
                await proxy.wait_until(lambda: proxy.connections - known, bound=60)
                return time.perf_counter() - killed


async def scaled(url: str, count: int, jobs: int = 96) -> float:
    """Seconds for ``count`` workers, each with its own 2-slot provider, to post ``jobs``."""
    async with FakeDiscord(token=TOKEN, wait_bound=120.0) as discord:
        guild = discord.add_guild("Guild")
        channel = discord.add_channel(guild)
        member = discord.add_member(guild, "alice")
        await (await open_database(url)).close()
        proxies = [FakeMidjourneyProxy(concurrency=2, queue_size=100) for _ in range(count)]
        for proxy in proxies:
            await proxy.start()
        try:
            envs = [worker_env(url, discord, proxy) for proxy in proxies]
            with tempfile.TemporaryDirectory() as folder:
                async with workers(envs, Path(folder)):
                    for proxy in proxies:
                        await proxy.wait_until(lambda proxy=proxy: probed(proxy) == 1)
                        # Five steps a render, 0.1 s each.
                        proxy.start_clock(0.1)
                    started = time.perf_counter()
                    await queue_jobs(url, channel.id, guild.id, member.user.id, count=jobs)

                    def posted() -> int:
                        return sum(
                            1
                            for message in discord.messages.values()
                            if message.channel_id == channel.id and message.attachments
                        )

                    await discord.wait_until(lambda: posted() >= jobs)
                    return time.perf_counter() - started
        finally:
            for proxy in proxies:
                await proxy.aclose()


async def queue_jobs(url: str, channel_id: int, guild_id: int, user_id: int, *, count: int) -> None:
    """``count`` jobs queued as the gateway would (the workers are woken by notification)."""
    settings = Settings(database={"url": url})
    db, jobs, _, _ = await build(settings.database.url, slots=3)
    try:
        from bot.prompt import parse_prompt

        await jobs.submit(
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            role_ids=[],
            prompts=[parse_prompt(f"a lighthouse {n}") for n in range(count)],
            speed=SpeedMode.FAST,
        )
    finally:
        await db.close()


async def measure() -> dict[str, object]:
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_rate, _, _ = await throughput(Path(tmp), per_submit=1)
    async with postgres_schema() as url:
        postgres_rate, _, _ = await throughput(Path(tmp), per_submit=1, url=url)
    figures["throughput_jobs_per_s_sqlite"] = round(sqlite_rate)
    figures["throughput_jobs_per_s_postgresql"] = round(postgres_rate)
    print(f"throughput: sqlite {sqlite_rate:.0f}/s, postgresql {postgres_rate:.0f}/s")
    async with postgres_schema() as url:
        ids = await fill(url)
        figures["recovery_s_100k_postgresql"] = round(await recovery(url), 2)
        figures["claim_p99_ms_100k_queued_1000_guilds"] = round(await claims(url, ids), 2)
    print(f"claims and recovery over {QUEUED} queued: {figures}")
    async with postgres_schema() as url:
        figures["takeover_s"] = round(await takeover(url), 2)
        figures["lease_s"] = LEASE_SECONDS
    seconds = {}
    for count in (1, 2, 4):
        async with postgres_schema() as url:
            seconds[count] = await scaled(url, count)
        print(f"{count} worker(s): {seconds[count]:.2f} s")
    figures["scale_2_workers"] = round(seconds[1] / seconds[2], 2)
    figures["scale_4_workers"] = round(seconds[1] / seconds[4], 2)
    return figures


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure())))
