"""Scheduler benchmark: Tessera's fair scheduler against a plain FIFO, and the real store.

Measured in one run:

- makespan_ratio: makespan / (N*T/C) for 2,000 jobs from 50 guilds on a simulated provider
  with C slots and job time T (target <= 1.02), FIFO's beside it;
- flood_wait_turnovers: guild A queues 1,000 jobs, then guild B queues one; B's wait in slot
  turnovers T/C (target <= 1; FIFO about 1000/C), FIFO's beside it;
- throughput_jobs_per_s: submit (one /imagine each), dispatch, poll and deliver with an
  instant provider and the real SQLite store and quota (target >= 1,000);
- recovery_s: a new dispatcher over 10,000 pending jobs, until the first job is submitted
  again (target <= 2 s);
- rss_mb_10k_queued: resident memory of this process with 10,000 jobs queued (<= 150 MB);
- submit_ratio_200k_history, submit_ratio_1m_history: submit p50 in a guild with that many
  finished jobs over a fresh guild's (target <= 1.2 each);
- relax_pick_us_20k_users: one relax pick among 20,000 waiting relax users (target <= 50),
  the 100-user figure beside it;
- bytes_per_job: database growth per job from submit to delivery, indexes included (<= 1,000);
- recovery_s_100k_10k_guilds: recovery of 100,000 pending jobs in 10,000 guilds (<= 1 s).

The history figures are in history_bench.py.

Run: python bench/scheduler_bench.py   (prints a few lines, then one JSON line)
"""

from __future__ import annotations

import asyncio
import heapq
import json
import random
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import history_bench

from bot.jobs import DeliveryFailed, Dispatcher, JobEvents, JobService
from bot.jobs.entries import QueueEntry
from bot.jobs.policy import FairScheduler, Limits
from bot.model import Job, JobKind, SpeedMode
from bot.prompt import parse_prompt
from bot.providers.base import TaskState
from bot.quota import CostModel, QuotaService
from bot.settings import ProviderSettings, Settings
from bot.store.connect import open_database
from bot.store.database import Database
from bot.store.jobs import JobRepository, NewJob
from tests.fakes.memory_provider import MemoryProvider, Script

SLOTS = 10
JOB_TIME = 60.0


class Fifo:
    """The baseline: one line for everybody."""

    def __init__(self) -> None:
        self._line: deque[QueueEntry] = deque()

    def add(self, entry: QueueEntry) -> None:
        self._line.append(entry)

    def pick(self, now: float) -> QueueEntry | None:
        return self._line.popleft() if self._line else None

    def finish(self, job_id: int) -> None:
        pass


def fair() -> FairScheduler:
    settings = Settings().scheduler
    return FairScheduler(
        default_limits=Limits(settings.max_running_per_user, settings.max_running_per_guild),
        relax_share=settings.relax_share,
    )


def simulate(
    scheduler: FairScheduler | Fifo,
    arrivals: list[tuple[float, QueueEntry]],
    *,
    busy_until: list[float] | None = None,
) -> dict[int, float]:
    """Run a provider with SLOTS slots and JOB_TIME per job; the start time of every job."""
    events: list[tuple[float, int, int]] = []  # (time, order, job id finishing; -1 = slot free)
    order = 0
    free = 0
    for until in busy_until or [0.0] * SLOTS:
        heapq.heappush(events, (until, order, -1))
        order += 1
    pending = sorted(arrivals, key=lambda item: item[0])
    started: dict[int, float] = {}
    now = 0.0
    while events or pending:
        next_event = events[0][0] if events else float("inf")
        next_arrival = pending[0][0] if pending else float("inf")
        now = min(next_event, next_arrival)
        while pending and pending[0][0] <= now:
            scheduler.add(pending.pop(0)[1])
        while events and events[0][0] <= now:
            _, _, job_id = heapq.heappop(events)
            if job_id >= 0:
                scheduler.finish(job_id)
            free += 1
        while free and (entry := scheduler.pick(now)) is not None:
            free -= 1
            started[entry.job_id] = now
            heapq.heappush(events, (now + JOB_TIME, order, entry.job_id))
            order += 1
        if not events and pending:
            continue
        if not events:
            break
    return started


def mixed_workload(count: int, guilds: int, rng: random.Random) -> list[tuple[float, QueueEntry]]:
    users = {guild: [guild * 1000 + n for n in range(rng.randint(2, 6))] for guild in range(guilds)}
    arrivals = []
    for job_id in range(1, count + 1):
        guild = rng.randrange(guilds)
        speed = rng.choices(
            [SpeedMode.FAST, SpeedMode.RELAX, SpeedMode.TURBO], weights=[85, 10, 5]
        )[0]
        entry = QueueEntry(job_id, guild, rng.choice(users[guild]), speed, 1000)
        arrivals.append((0.0, entry))
    return arrivals


def makespan(scheduler: FairScheduler | Fifo, arrivals: list[tuple[float, QueueEntry]]) -> float:
    started = simulate(scheduler, arrivals)
    assert len(started) == len(arrivals)
    return (max(started.values()) + JOB_TIME) / (len(arrivals) * JOB_TIME / SLOTS)


def flood_wait(scheduler: FairScheduler | Fifo) -> float:
    turnover = JOB_TIME / SLOTS
    # A warm provider: slot i frees at i turnovers, as in steady state.
    busy = [i * turnover for i in range(SLOTS)]
    arrivals = [(0.0, QueueEntry(n, 1, 100 + n % 5, SpeedMode.FAST, 1000)) for n in range(1, 1001)]
    arrival = 0.5 * turnover
    arrivals.append((arrival, QueueEntry(5000, 2, 999, SpeedMode.FAST, 1000)))
    started = simulate(scheduler, arrivals, busy_until=busy)
    return (started[5000] - arrival) / turnover


class InstantDeliverer:
    """Posts nothing; the bench measures the bot's own work."""

    async def deliver(self, job: Job, task: TaskState) -> int | None:
        if not task.image_urls:
            raise DeliveryFailed("no image", retryable=False)
        return job.id

    async def retract(self, job: Job, message_id: int) -> None:
        pass  # nothing was posted


async def build(
    path: Path | str, slots: int
) -> tuple[Database, JobService, Dispatcher, MemoryProvider]:
    """The services on a SQLite file at ``path``, or on the database URL ``path`` names."""
    settings = Settings()
    scheduler = settings.scheduler.model_copy(
        update={"max_waiting_per_user": 100_000, "max_waiting_per_guild": 100_000}
    )
    db = await open_database(path if isinstance(path, str) else f"sqlite:///{path}")
    events = JobEvents()
    quota = QuotaService(db, settings.quota)
    jobs = JobService(
        db, quota, CostModel(settings.quota.costs), scheduler, events=events, rng=random.Random(1)
    )
    provider = MemoryProvider(default=Script(polls=1))
    dispatcher = Dispatcher(
        db,
        jobs,
        provider,
        quota,
        InstantDeliverer(),
        scheduler,
        ProviderSettings(max_concurrency=slots),
        events=events,
    )
    return db, jobs, dispatcher, provider


async def throughput(
    root: Path, *, per_submit: int, count: int = 2000, url: str | None = None
) -> tuple[float, float, float]:
    """Jobs per second from submit to delivered; ``per_submit`` prompts per /imagine.

    Also the milliseconds per job spent submitting, and then dispatching to delivery. On a
    SQLite file in ``root``, or on the (empty) database ``url`` names.
    """
    db, jobs, dispatcher, _ = await build(url or root / f"throughput-{per_submit}.db", slots=50)
    prompt = parse_prompt("a lighthouse in a storm --ar 16:9 --q 1")
    await dispatcher.recover()
    started = time.perf_counter()
    for n in range(count // per_submit):
        await jobs.submit(
            guild_id=n % 50,
            channel_id=1,
            user_id=n % 500 + 1,  # Discord ids are never 0 (0 is the guild pool)
            role_ids=[],
            prompts=[prompt] * per_submit,
            speed=SpeedMode.FAST,
        )
    submitted = time.perf_counter()
    await dispatcher.drain()
    finished = time.perf_counter()
    await db.close()
    per_job_ms = 1000 / count
    return (
        count / (finished - started),
        (submitted - started) * per_job_ms,
        (finished - submitted) * per_job_ms,
    )


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def waiting_job(n: int, *, guilds: int, users: int) -> NewJob:
    """The ``n``-th of many jobs queued by ``users`` members of ``guilds`` guilds."""
    return NewJob(
        guild_id=n % guilds,
        channel_id=1,
        user_id=n % users,
        kind=JobKind.IMAGINE,
        prompt=f"job {n} --seed {n}",
        params={},
        seed=n,
        seed_explicit=True,
        speed=SpeedMode.FAST,
        cost=1000,
        weight=1000,
    )


async def recovery(root: Path, count: int = 10_000) -> tuple[float, float]:
    path = root / "recovery.db"
    db = await open_database(f"sqlite:///{path}")
    repo = JobRepository()
    async with db.transaction() as tx:
        for n in range(count):
            await repo.insert(tx, waiting_job(n, guilds=50, users=2000), now=time.time())
    await db.close()
    started = time.perf_counter()
    db, _, dispatcher, provider = await build(path, slots=10)
    await dispatcher.recover()
    await dispatcher._submitter.dispatch()  # dispatch resumes: the first jobs are submitted
    elapsed = time.perf_counter() - started
    assert provider.requests, "nothing was dispatched after recovery"
    memory = rss_mb()
    await db.close()
    return elapsed, memory


async def measure_store() -> tuple[tuple[float, float, float], float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        single = await throughput(root, per_submit=1)
        batched, _, _ = await throughput(root, per_submit=10)
        seconds, memory = await recovery(root)
    return single, batched, seconds, memory


async def measure_history() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        figures = {
            "submit_ratio_200k_history": await history_bench.submit_ratio(root, build, 200_000),
            "submit_ratio_1m_history": await history_bench.submit_ratio(root, build, 1_000_000),
            "bytes_per_job": await history_bench.bytes_per_job(root, build),
        }
        seconds, memory = await history_bench.recovery_many_guilds(root, build, rss_mb)
    return {
        **figures,
        "recovery_s_100k_10k_guilds": seconds,
        "rss_mb_100k_queued_10k_guilds": memory,
    }


def main() -> None:
    rng = random.Random(7)
    workload = mixed_workload(2000, 50, rng)
    fair_ratio = makespan(fair(), [(t, QueueEntry(**vars_of(e))) for t, e in workload])
    fifo_ratio = makespan(Fifo(), [(t, QueueEntry(**vars_of(e))) for t, e in workload])
    print(f"makespan / (N*T/C): tessera {fair_ratio:.4f}, fifo {fifo_ratio:.4f}")
    flood = flood_wait(fair())
    flood_fifo = flood_wait(Fifo())
    print(f"flood wait (turnovers): tessera {flood:.2f}, fifo {flood_fifo:.1f}")
    (rate, submit_ms, complete_ms), batched, seconds, memory = asyncio.run(measure_store())
    print(
        f"throughput {rate:.0f} jobs/s: submit {submit_ms:.3f} ms/job, then dispatch to"
        f" delivery {complete_ms:.3f} ms/job (10 prompts per submit: {batched:.0f} jobs/s)"
    )
    print(f"recovery of 10,000 pending jobs {seconds:.3f} s; RSS {memory:.1f} MB")
    relax_100 = history_bench.relax_pick_us(100)
    relax_20k = history_bench.relax_pick_us(20_000)
    print(f"relax pick: {relax_100:.1f} us at 100 users, {relax_20k:.1f} us at 20,000")
    history = asyncio.run(measure_history())
    print(
        "submit p50 over a fresh guild's: {submit_ratio_200k_history:.2f} at 200k finished"
        " jobs, {submit_ratio_1m_history:.2f} at 1M; {bytes_per_job:.0f} bytes per job;"
        " recovery of 100k jobs in 10k guilds {recovery_s_100k_10k_guilds:.3f} s,"
        " RSS {rss_mb_100k_queued_10k_guilds:.1f} MB".format(**history)
    )
    print(
        json.dumps(
            {
                "makespan_ratio": round(fair_ratio, 4),
                "makespan_ratio_fifo": round(fifo_ratio, 4),
                "flood_wait_turnovers": round(flood, 3),
                "flood_wait_turnovers_fifo": round(flood_fifo, 1),
                "throughput_jobs_per_s": round(rate),
                "throughput_submit_ms_per_job": round(submit_ms, 3),
                "throughput_complete_ms_per_job": round(complete_ms, 3),
                "throughput_jobs_per_s_10_per_submit": round(batched),
                "recovery_s": round(seconds, 3),
                "rss_mb_10k_queued": round(memory, 1),
                "submit_ratio_200k_history": round(history["submit_ratio_200k_history"], 3),
                "submit_ratio_1m_history": round(history["submit_ratio_1m_history"], 3),
                "relax_pick_us_100_users": round(relax_100, 2),
                "relax_pick_us_20k_users": round(relax_20k, 2),
                "bytes_per_job": round(history["bytes_per_job"]),
                "recovery_s_100k_10k_guilds": round(history["recovery_s_100k_10k_guilds"], 3),
                "rss_mb_100k_queued_10k_guilds": round(history["rss_mb_100k_queued_10k_guilds"], 1),
            }
        )
    )


def vars_of(entry: QueueEntry) -> dict[str, object]:
    return {
        "job_id": entry.job_id,
        "guild_id": entry.guild_id,
        "user_id": entry.user_id,
        "speed": entry.speed,
        "weight": entry.weight,
    }


if __name__ == "__main__":
    main()
