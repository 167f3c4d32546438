"""Helpers for tests and benchmarks that run several Tessera processes on one database."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from bot.jobs.lease import pid_of
from bot.store.connect import open_database
from bot.store.leases import LeaseRepository


async def dispatching_pid(url: str) -> int:
    """The pid of the process holding the dispatch lease (``worker@host:pid``)."""
    database = await open_database(url, migrate=False)
    try:
        async with database.transaction() as tx:
            lease = await LeaseRepository().get(tx, "dispatch")
    finally:
        await database.close()
    assert lease is not None
    pid = pid_of(lease.holder)
    assert pid is not None
    return pid


@contextlib.asynccontextmanager
async def workers(
    count: int, env: dict[str, str], folder: Path
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """``count`` worker processes (their output in ``folder``), stopped on the way out."""
    started = []
    for number in range(count):
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
