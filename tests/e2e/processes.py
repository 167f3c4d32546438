"""Helpers for tests and benchmarks that run several Tessera processes on one database."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from bot.jobs.lease import pid_of
from bot.store.connect import open_database


async def owner_pids(url: str, *, state: str | None = None) -> set[int]:
    """The pids of the processes owning unfinished jobs (in ``state``, if given)."""
    database = await open_database(url, migrate=False)
    try:
        async with database.transaction() as tx:
            rows = await tx.fetch_all(
                "SELECT DISTINCT owner FROM jobs WHERE finished_at IS NULL"  # noqa: S608 (constant)
                + ("" if state is None else " AND state = ?"),
                () if state is None else (state,),
            )
    finally:
        await database.close()
    return {pid for row in rows if row[0] is not None and (pid := pid_of(str(row[0])))}


async def running_owner_pids(url: str) -> set[int]:
    """The pids of the processes with jobs running at the provider."""
    return await owner_pids(url, state="running")


@contextlib.asynccontextmanager
async def workers(
    envs: Sequence[dict[str, str]], folder: Path
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """A worker process for each environment (output in ``folder``), stopped on the way out."""
    started = []
    for number, env in enumerate(envs):
        log = (folder / f"worker-{number}.log").open("wb")
        started.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "worker",
                cwd=folder,
                env=env,
                stdout=log,
                stderr=log,
            )
        )
        log.close()
    try:
        yield started
    finally:
        for process in started:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                async with asyncio.timeout(30):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
