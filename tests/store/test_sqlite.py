import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.errors import ConfigError
from bot.store.connect import open_database
from bot.store.database import Database, Transaction, sqlite_path
from bot.store.sqlite import BodySuspended


def test_sqlite_path_reads_relative_absolute_and_memory_urls() -> None:
    assert sqlite_path("sqlite:///data/tessera.db") == "data/tessera.db"
    assert sqlite_path("sqlite:////var/lib/tessera.db") == "/var/lib/tessera.db"
    assert sqlite_path("sqlite:///:memory:") == ":memory:"


def test_a_url_of_another_engine_is_not_a_sqlite_path() -> None:
    with pytest.raises(ConfigError, match="not a SQLite URL"):
        sqlite_path("postgresql://localhost/tessera")


async def test_migrations_are_recorded_once_and_the_file_is_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/nested/tessera.db"
    db = await open_database(url)
    await db.close()
    db = await open_database(url)
    try:
        assert await db.migrate() == []
        async with db.transaction() as tx:
            versions = [
                row[0] for row in await tx.fetch_all("SELECT version FROM schema_migrations")
            ]
            assert versions == sorted(set(versions))
            assert await tx.fetch_value("PRAGMA journal_mode") == "wal"
            assert await tx.fetch_value("PRAGMA foreign_keys") == 1
            assert await tx.fetch_value("PRAGMA wal_autocheckpoint") == 10_000
            assert await tx.fetch_value("PRAGMA journal_size_limit") == 64 * 1024 * 1024
    finally:
        await db.close()
    assert (tmp_path / "nested" / "tessera.db").exists()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    opened = await open_database(f"sqlite:///{tmp_path}/run.db")
    async with opened.transaction() as tx:
        await tx.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
    yield opened
    await opened.close()


async def test_run_takes_the_whole_body_to_the_connection_thread_in_one_trip(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips: list[object] = []
    real = db._conn._execute

    async def counted(fn: Any, *args: Any) -> Any:
        trips.append(fn)
        return await real(fn, *args)

    monkeypatch.setattr(db._conn, "_execute", counted)
    threads: list[int] = []

    async def body(tx: Transaction) -> int:
        threads.append(threading.get_ident())
        for v in range(5):
            await tx.insert("INSERT INTO t (v) VALUES (?)", (v,))
        return int(await tx.fetch_value("SELECT COUNT(*) FROM t"))

    assert await db.run(body) == 5
    assert len(trips) == 1
    assert threads != [threading.get_ident()]


async def test_a_body_that_awaits_something_else_is_refused_and_rolled_back(
    db: Database,
) -> None:
    async def body(tx: Transaction) -> None:
        await tx.insert("INSERT INTO t (v) VALUES (?)", (1,))
        await asyncio.sleep(0)  # would suspend on the database thread

    with pytest.raises(BodySuspended, match=r"use Database\.transaction\(\)"):
        await db.run(body)
    async with db.transaction() as tx:
        assert await tx.fetch_value("SELECT COUNT(*) FROM t") == 0


async def test_a_cancelled_caller_leaves_the_body_to_finish_and_the_database_usable(
    db: Database,
) -> None:
    loop = asyncio.get_running_loop()
    started = asyncio.Event()
    release = threading.Event()

    committed: asyncio.Future[str] = loop.create_future()

    async def body(tx: Transaction) -> str:
        await tx.insert("INSERT INTO t (v) VALUES (?)", (1,))
        loop.call_soon_threadsafe(started.set)
        release.wait(timeout=30)  # holds the database thread until the caller is cancelled
        await tx.insert("INSERT INTO t (v) VALUES (?)", (2,))
        return "both rows"

    caller = asyncio.create_task(db.run(body, committed=committed.set_result))
    await started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    release.set()
    # What follows the commit still happens, with the body's result.
    assert await committed == "both rows"
    # The next transaction queues behind the body on the same thread: it sees all or nothing.
    async with db.transaction() as tx:
        assert [r[0] for r in await tx.fetch_all("SELECT v FROM t ORDER BY id")] == [1, 2]


async def test_a_migration_runs_without_foreign_keys_and_is_checked_before_it_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.store import sqlite as module

    shipped = module.migrations("sqlite")
    url = f"sqlite:///{tmp_path}/tessera.db"
    await (await open_database(url)).close()
    seen: list[int] = []
    # A rebuild that reads the pragma as it runs, then one that breaks a foreign key.
    probe = "CREATE TABLE probe AS SELECT foreign_keys AS fk FROM pragma_foreign_keys;"
    breaking = (
        "CREATE TABLE parent_t (id INTEGER PRIMARY KEY);"
        "CREATE TABLE child_t (id INTEGER PRIMARY KEY, p INTEGER REFERENCES parent_t(id));"
        "INSERT INTO child_t VALUES (1, 42);"
    )
    top = shipped[-1][0]
    monkeypatch.setattr(
        module,
        "migrations",
        lambda engine: [*shipped, (top + 1, "probe", probe), (top + 2, "breaking", breaking)],
    )
    db = await open_database(url, migrate=False)
    try:
        with pytest.raises(RuntimeError, match=r"breaking breaks 1 foreign keys"):
            await db.migrate()
        async with db.transaction() as tx:
            seen = [row[0] for row in await tx.fetch_all("SELECT fk FROM probe")]
            versions = {
                row[0] for row in await tx.fetch_all("SELECT version FROM schema_migrations")
            }
            assert (
                await tx.fetch_value("SELECT count(*) FROM sqlite_master WHERE name = 'child_t'")
                == 0
            )
            assert await tx.fetch_value("PRAGMA foreign_keys") == 1
    finally:
        await db.close()
    assert seen == [0]
    assert top + 1 in versions
    assert top + 2 not in versions
