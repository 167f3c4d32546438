"""The scheduler bench's history measurements: what a year of past jobs costs the present.

- submit p50 in a guild with 200k / 1M finished jobs, over a fresh guild's in the same run;
- a relax pick among 100 and 20,000 waiting relax users (µs);
- bytes per job: database growth per job taken from submit to delivery, indexes included;
- recovery of 100,000 pending jobs spread over 10,000 guilds (s, and RSS).

History is copied from one real job with bulk SQL (a recursive CTE), column list read from
the table itself, so the same code runs against older schemas for before/after figures.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.jobs.entries import QueueEntry
from bot.jobs.policy import FairScheduler, Limits
from bot.model import SpeedMode
from bot.prompt import parse_prompt

Build = Callable[[Path, int], Awaitable[tuple[Any, Any, Any, Any]]]
HISTORY_GUILD = 7
FRESH_GUILD = 8


def bulk_copy(path: Path, template_id: int, count: int, **overrides: str) -> None:
    """Insert ``count`` copies of job ``template_id``; ``overrides``: column -> SQL of ``n.i``."""
    conn = sqlite3.connect(path, isolation_level=None)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(jobs)") if row[1] != "id"]
    selected = [overrides.get(column, column) for column in columns]
    conn.execute("BEGIN")
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"  # noqa: S608 (names from the schema)
        f" INSERT INTO jobs ({', '.join(columns)})"
        f" SELECT {', '.join(selected)} FROM jobs, n WHERE jobs.id = ?",
        (count, template_id),
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


async def _submit(jobs: Any, guild_id: int, user_id: int) -> float:
    prompt = parse_prompt("a lighthouse in a storm --ar 16:9 --q 1")
    started = time.perf_counter()
    await jobs.submit(
        guild_id=guild_id,
        channel_id=1,
        user_id=user_id,
        role_ids=[],
        prompts=[prompt],
        speed=SpeedMode.FAST,
    )
    return time.perf_counter() - started


async def submit_ratio(root: Path, build: Build, history: int, rounds: int = 300) -> float:
    """Submit p50 in a guild with ``history`` finished jobs over a fresh guild's, same run."""
    path = root / f"history-{history}.db"
    db, jobs, dispatcher, _ = await build(path, 10)
    await dispatcher.recover()
    await _submit(jobs, HISTORY_GUILD, 1)
    await dispatcher.drain()
    await db.close()
    bulk_copy(path, 1, history, user_id="n.i % 500 + 1")
    db, jobs, dispatcher, _ = await build(path, 10)
    old: list[float] = []
    fresh: list[float] = []
    for n in range(rounds):  # interleaved, so noise hits both alike
        old.append(await _submit(jobs, HISTORY_GUILD, n % 500 + 1))
        fresh.append(await _submit(jobs, FRESH_GUILD, n % 500 + 1))
    await db.close()
    path.unlink()
    return statistics.median(old) / statistics.median(fresh)


def relax_pick_us(users: int, *, budget_s: float = 0.5, most: int = 20_000) -> float:
    """Mean µs of one relax pick (then finish, and a new job for that user) among ``users``."""
    policy = FairScheduler(default_limits=Limits(running_per_user=10), relax_share=0.1)
    job_id = 0
    for user in range(1, users + 1):
        for _ in range(2):
            job_id += 1
            policy.add(QueueEntry(job_id, user % 50 + 1, user, SpeedMode.RELAX, 1000))
    rng = random.Random(3)
    picks = 0
    now = 0.0
    started = time.perf_counter()
    while picks < most and (picks < 20 or time.perf_counter() - started < budget_s):
        now += rng.random()
        entry = policy.pick(now)
        assert entry is not None
        policy.finish(entry.job_id)
        job_id += 1
        policy.add(QueueEntry(job_id, entry.guild_id, entry.user_id, SpeedMode.RELAX, 1000))
        picks += 1
    return (time.perf_counter() - started) / picks * 1e6


def _stored_bytes(path: Path) -> int:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    total = int(conn.execute("SELECT SUM(pgsize) FROM dbstat").fetchone()[0])
    conn.close()
    return total


async def bytes_per_job(root: Path, build: Build, warm: int = 200, count: int = 2000) -> float:
    """Database growth per job taken from submit to delivery (rows and indexes)."""
    path = root / "bytes.db"
    db, jobs, dispatcher, _ = await build(path, 50)
    await dispatcher.recover()
    sizes = []
    submitted = 0
    for target in (warm, warm + count):
        while submitted < target:
            await _submit(jobs, submitted % 20 + 1, submitted % 300 + 1)
            submitted += 1
        await dispatcher.drain()
        sizes.append(_stored_bytes(path))
    await db.close()
    return (sizes[1] - sizes[0]) / count


async def recovery_many_guilds(
    root: Path,
    build: Build,
    rss_mb: Callable[[], float],
    count: int = 100_000,
    guilds: int = 10_000,
) -> tuple[float, float]:
    """A new dispatcher over ``count`` pending jobs in ``guilds`` guilds (each configured)."""
    path = root / "recovery-guilds.db"
    db, jobs, dispatcher, _ = await build(path, 10)
    await _submit(jobs, 1, 1)
    await db.close()
    bulk_copy(path, 1, count - 1, guild_id=f"n.i % {guilds} + 1", user_id=f"n.i % {guilds * 5} + 1")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
        " INSERT INTO guild_config (guild_id, updated_at) SELECT i, 0 FROM n",
        (guilds,),
    )
    conn.close()
    started = time.perf_counter()
    db, _, dispatcher, provider = await build(path, 10)
    await dispatcher.recover()
    await dispatcher._submitter.dispatch()  # dispatch resumes: the first jobs are submitted
    elapsed = time.perf_counter() - started
    assert provider.requests, "nothing was dispatched after recovery"
    memory = rss_mb()
    await db.close()
    return elapsed, memory
