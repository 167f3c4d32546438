"""Scale benchmark: Tessera on PostgreSQL and in several processes (issue #12).

Measured in one run against the PostgreSQL server ``TESSERA_TEST_POSTGRES_URL`` names
(default: postgresql://postgres@127.0.0.1:5432/test; each figure in a schema of its own,
dropped afterwards):

- throughput_jobs_per_s_sqlite / _postgresql: scheduler_bench's workload (submit, dispatch,
  poll and deliver 2,000 jobs with an instant provider) on each store, one process;
- claim_p99_ms_100k_queued_1000_guilds: a claim from the shared queue for one free slot (the
  ring's head locked, deficit round-robin, the state written back, the job moved to
  submitting: one transaction) with 100,000 jobs of 1,000 guilds waiting (target <= 10);
- recovery_s_100k_postgresql: a new dispatcher over those 100,000 jobs until it has claimed its
  first job again;
- takeover_s: two ``python -m bot worker`` processes with the loopback fakes; one with jobs
  running is killed with SIGKILL; seconds until the other owns every one of them in the
  database (target <= lease + 2 s). Here the dead process is of this host, so it is adopted
  at the next look (within a third of the lease); on another host it is one lease more;
- scale_2_workers, scale_4_workers: throughput of 2 and 4 ``worker`` processes over 1 (targets
  >= 1.8 and >= 3.4): 48 jobs, each worker with a provider of its own (as on its own GPU
  machine) of 2 slots whose renders take ~1 s of simulated time (workers wait, not compute);
- flood_wait_turnovers: with 2 workers busy on guild A's 200 jobs, eight other guilds each
  queue one job at a random moment: their mean wait until it reaches a provider, in slot
  turnovers over all workers (T/C; target <= 1). Each render takes 1 ± 0.5 of its mean time
  here, so the four slots free one at a time as real machines' do (with the fake's lockstep
  clock they would all free at once, and every newcomer would wait for that moment).

Run: python bench/scale_bench.py   (a few lines, then one JSON line)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
# Before tests.postgres reads it.
os.environ.setdefault("TESSERA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

from scheduler_bench import build, throughput, waiting_job

from bot.jobs import JobService
from bot.jobs.policy import Limits
from bot.jobs.shared_queue import SharedQueue
from bot.model import SpeedMode
from bot.prompt import parse_prompt
from bot.store.connect import open_database
from bot.store.jobs import JobRepository
from tests.cli.conftest import TOKEN
from tests.e2e.processes import owner_pids, running_owner_pids, workers
from tests.fakes.discord import FakeDiscord
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy
from tests.postgres import postgres_schema

QUEUED = 100_000
GUILDS = 1_000
CLAIMS = 1_000
LEASE_SECONDS = 3.0
POLL_INTERVAL = "0.1"
STEP_SECONDS = 0.25
"""The fake provider moves each task a step this often: a render takes about a second, as a
few-step model on a GPU does."""
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
        async with database.transaction() as tx:
            # As autovacuum would soon after a load this size: plans for the tables as they are.
            await tx.execute("ANALYZE")
    finally:
        await database.close()
    return ids


async def claims(url: str) -> float:
    """The p99 of ``CLAIMS`` claims from the shared queue (one slot each), in milliseconds.

    Each is what a worker's dispatcher runs when a slot frees: deficit round-robin over the
    head of the ring, the running counts, the state written back, the job moved to submitting.
    """
    database = await open_database(url)
    queue = SharedQueue(JobRepository(), Limits(running_per_user=50), relax_share=0.1)
    times = []
    try:
        for _ in range(CLAIMS):
            started = time.perf_counter()
            async with database.transaction(serialised=False) as tx:
                claimed = await queue.claim(
                    tx, 1, now=time.time(), endpoint="bench", limit=CLAIMS, fields={}
                )
            assert len(claimed) == 1, "a claim found nothing to take"
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
                async with gateway(url) as service:
                    await queue_jobs(service, channel.id, guild.id, member.user.id, count=5)
                await proxy.wait_until(lambda: len(proxy.tasks) == 3)
                victim = min(await running_owner_pids(url))
                os.kill(victim, signal.SIGKILL)
                killed = time.perf_counter()
                # A benchmark may poll: until no unfinished job is the dead process's.
                while victim in await owner_pids(url):  # noqa: ASYNC110 (another process's state)
                    await asyncio.sleep(0.02)
                return time.perf_counter() - killed


SCALE_JOBS = 48
FLOOD_TRIALS = 8


@contextlib.asynccontextmanager
async def fleet(
    url: str, discord: FakeDiscord, count: int, *, jitter: float = 0.0
) -> AsyncIterator[list[FakeMidjourneyProxy]]:
    """``count`` workers, each with a 2-slot provider of its own whose clock runs.

    ``jitter``: each render step takes 1 ± jitter steps, so renders end at different times.
    """
    await (await open_database(url)).close()  # migrated before any worker starts
    proxies = [FakeMidjourneyProxy(concurrency=2, queue_size=100) for _ in range(count)]
    for proxy in proxies:
        await proxy.start()
    try:
        envs = [worker_env(url, discord, proxy) for proxy in proxies]
        with tempfile.TemporaryDirectory() as folder:
            async with workers(envs, Path(folder)):
                for seed, proxy in enumerate(proxies):
                    await proxy.wait_until(lambda proxy=proxy: probed(proxy) == 1)
                    # A render: about four steps of the fake clock.
                    proxy.start_clock(STEP_SECONDS, jitter=jitter, seed=seed)
                yield proxies
    finally:
        for proxy in proxies:
            await proxy.aclose()


async def scaled(url: str, count: int, jobs: int = SCALE_JOBS) -> float:
    """Seconds for ``count`` workers, each with its own 2-slot provider, to post ``jobs``."""
    async with FakeDiscord(token=TOKEN, wait_bound=120.0) as discord:
        guild = discord.add_guild("Guild")
        channel = discord.add_channel(guild)
        member = discord.add_member(guild, "alice")
        async with fleet(url, discord, count):
            async with gateway(url) as service:
                started = time.perf_counter()
                await queue_jobs(service, channel.id, guild.id, member.user.id, count=jobs)

            def posted() -> int:
                return sum(
                    1
                    for message in discord.messages.values()
                    if message.channel_id == channel.id and message.attachments
                )

            await discord.wait_until(lambda: posted() >= jobs)
            return time.perf_counter() - started


async def flood_wait(url: str, count: int, render_s: float, trials: int = FLOOD_TRIALS) -> float:
    """Guild A floods the workers; other guilds queue one job each now and then.

    The mean wait of those jobs until they reach a provider, in slot turnovers over all
    workers (a render's time over the slots: T/C). Renders take 1 ± 0.5 of their mean time,
    so slots free one at a time; each new guild comes at a random moment of a render.
    """
    rng = random.Random(7)
    async with FakeDiscord(token=TOKEN, wait_bound=120.0) as discord:
        flooder = discord.add_guild("A")
        flooded = discord.add_channel(flooder)
        alice = discord.add_member(flooder, "alice")
        async with fleet(url, discord, count, jitter=0.5) as proxies, gateway(url) as service:
            await queue_jobs(service, flooded.id, flooder.id, alice.user.id, count=200)

            def finished() -> int:
                return sum(task.terminal for proxy in proxies for task in proxy.tasks.values())

            # A few renders first: the slots' phases drift apart.
            await proxies[0].wait_until(lambda: finished() >= 4 * count)
            waits = []
            for trial in range(trials):
                await asyncio.sleep(rng.uniform(0, render_s))
                waits.append(await one_guilds_wait(discord, service, proxies, f"guild {trial}"))
    return statistics.mean(waits) / (render_s / (2 * count))


async def one_guilds_wait(
    discord: FakeDiscord, service: JobService, proxies: list[FakeMidjourneyProxy], name: str
) -> float:
    """Seconds from a new guild's only job being queued to its reaching a provider."""
    guild = discord.add_guild(name)
    channel = discord.add_channel(guild)
    member = discord.add_member(guild, "bob")
    asked = time.perf_counter()
    await service.submit(
        guild_id=guild.id,
        channel_id=channel.id,
        user_id=member.user.id,
        role_ids=[],
        prompts=[parse_prompt(f"{name}'s only job")],
        speed=SpeedMode.FAST,
    )

    def started() -> bool:
        return any(name in task.prompt for proxy in proxies for task in proxy.tasks.values())

    # Whichever provider it reaches, its own request wakes the wait.
    waits = [asyncio.ensure_future(proxy.wait_until(started)) for proxy in proxies]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED, timeout=60)
    for wait in waits:
        wait.cancel()
    await asyncio.gather(*waits, return_exceptions=True)
    if not started():
        raise RuntimeError(f"{name}'s job never reached a provider")
    return time.perf_counter() - asked


@contextlib.asynccontextmanager
async def gateway(url: str) -> AsyncIterator[JobService]:
    """The job service a gateway process queues jobs through."""
    db, jobs, _, _ = await build(url, slots=3)
    try:
        yield jobs
    finally:
        await db.close()


async def queue_jobs(
    jobs: JobService, channel_id: int, guild_id: int, user_id: int, *, count: int
) -> None:
    """``count`` jobs queued as the gateway would (the workers are woken by notification)."""
    await jobs.submit(
        guild_id=guild_id,
        channel_id=channel_id,
        user_id=user_id,
        role_ids=[],
        prompts=[parse_prompt(f"a lighthouse {n}") for n in range(count)],
        speed=SpeedMode.FAST,
    )


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
        await fill(url)
        figures["recovery_s_100k_postgresql"] = round(await recovery(url), 2)
        figures["claim_p99_ms_100k_queued_1000_guilds"] = round(await claims(url), 2)
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
    render_s = seconds[1] * 2 / SCALE_JOBS  # one slot's time per job, queue overhead included
    async with postgres_schema() as url:
        figures["flood_wait_turnovers"] = round(await flood_wait(url, 2, render_s), 2)
    return figures


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure())))
