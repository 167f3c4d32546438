"""SQLite, the embedded default: one connection, serialised transactions, its migrations.

Transactions start with ``BEGIN IMMEDIATE`` so a claim (a conditional ``UPDATE``) is atomic
against every other writer, in this process or another.

``transaction()`` takes each statement to the connection's thread and back (~40 µs a trip).
``run(body)`` takes a whole transaction there in ONE trip: the body is the same async code
over the same ``Transaction`` API, but each statement runs at once on that thread, so the body
never suspends and completes in a single step there. Hot paths (``JobService.submit``) use it;
a body that awaits anything but its transaction is refused and rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from typing_extensions import override

from bot.store.database import Database, Params, Row, Transaction, migrations, sqlite_path

log = logging.getLogger(__name__)

T = TypeVar("T")


class SqliteTransaction(Transaction):
    """Each statement is one trip to the connection's thread; ``_OnThread`` runs them in place."""

    engine = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; the number of rows it changed."""
        # One trip to the connection's thread: a finished write holds no statement open, so
        # the cursor is dropped here rather than closed in a second trip (as executemany's is).
        cursor = await self._conn.execute(sql, params)
        return cursor.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an ``INSERT``; the new row's id."""
        row = await self._conn.execute_insert(sql, params)
        return _row_id(None if row is None else row[0])

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> int:
        """Run one statement for each parameter row; the number of rows changed in all."""
        cursor = await self._conn.executemany(sql, rows)
        return cursor.rowcount

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query (also ``UPDATE ... RETURNING``)."""
        # One trip to the connection's thread instead of three (execute, fetch, close).
        return list(await self._conn.execute_fetchall(sql, params))

    @override
    async def notify(self, channel: str, payload: str = "") -> None:
        return  # nothing carries it to another process: they poll


class _OnThread(SqliteTransaction):
    """The same API on the connection's own thread: each statement runs in place."""

    def __init__(self, conn: aiosqlite.Connection, raw: sqlite3.Connection) -> None:
        super().__init__(conn)
        self._raw = raw

    @override
    async def execute(self, sql: str, params: Params = ()) -> int:
        return self._raw.execute(sql, params).rowcount

    @override
    async def insert(self, sql: str, params: Params = ()) -> int:
        return _row_id(self._raw.execute(sql, params).lastrowid)

    @override
    async def execute_many(self, sql: str, rows: Iterable[Params]) -> int:
        return self._raw.executemany(sql, rows).rowcount

    @override
    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return self._raw.execute(sql, params).fetchall()


def _row_id(value: int | None) -> int:
    if value is None:
        raise RuntimeError("INSERT produced no row id")
    return int(value)


class BodySuspended(RuntimeError):
    """A ``Database.run`` body awaited something other than its transaction."""


def _complete(step: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to its end, in the calling thread."""
    try:
        step.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    step.close()
    raise BodySuspended(
        "a Database.run body may await only its transaction; use Database.transaction()"
    )


class SqliteDatabase(Database):
    """A SQLite file (or ``:memory:``); open with ``open_database("sqlite:///...")``."""

    engine = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, raw: sqlite3.Connection) -> None:
        self._conn = conn
        self._raw = raw
        """The sqlite3 connection itself: touched only on ``conn``'s thread."""
        super().__init__()

    @classmethod
    async def connect(
        cls, url: str, *, migrate: bool = True, maintain: bool = True
    ) -> SqliteDatabase:
        """Connect, configure SQLite for a long-running service and apply migrations.

        ``migrate=False, maintain=False`` only looks: no migration, no switch of the file to
        incremental vacuum (a report on a database another process runs).
        """
        path = sqlite_path(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        opened: list[sqlite3.Connection] = []

        def connect() -> sqlite3.Connection:
            # isolation_level=None: transactions are explicit, BEGIN IMMEDIATE is ours to issue.
            raw = sqlite3.connect(path, isolation_level=None)
            opened.append(raw)
            return raw

        # aiosqlite's own connect() keeps the sqlite3 connection to itself; run() needs it.
        conn = await aiosqlite.Connection(connect, iter_chunk_size=64)
        conn.row_factory = sqlite3.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=5000",
            # In WAL mode with synchronous=NORMAL only checkpoints sync to disk, two fsyncs
            # each. SQLite's default checkpoints every 1,000 pages (4 MB), which at a burst
            # of submissions is every hundred or so; every 10,000 pages the fsyncs are a
            # tenth as many and the hot pages (usage rows, indexes) are copied back once.
            # The bench measured +5-8% single-prompt throughput. The file is trimmed back
            # to 64 MB after a checkpoint.
            "PRAGMA wal_autocheckpoint=10000",
            "PRAGMA journal_size_limit=67108864",
        ):
            await conn.execute(pragma)
        if path != ":memory:" and maintain:
            await _incremental_vacuum(conn)
        db = cls(conn, opened[0])
        if migrate:
            await db.migrate()
        return db

    @override
    async def _disconnect(self) -> None:
        await self._conn.close()

    @asynccontextmanager
    async def transaction(self, *, serialised: bool = True) -> AsyncIterator[Transaction]:
        """An immediate transaction: committed on success, rolled back on any error."""
        async with self._turn():
            try:
                # BEGIN inside the try: a task cancelled while its BEGIN is queued must still
                # roll back, or the connection stays in a transaction that nobody owns. COMMIT
                # too: a refused one (a deferred constraint, a full disk) leaves it open.
                await self._conn.execute("BEGIN IMMEDIATE")
                yield SqliteTransaction(self._conn)
                await self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.OperationalError):  # no transaction is open
                    await self._conn.execute("ROLLBACK")
                raise

    async def run(
        self,
        body: Callable[[Transaction], Awaitable[T]],
        *,
        committed: Callable[[T], object] | None = None,
    ) -> T:
        """``body(tx)`` as one immediate transaction, in ONE trip to the connection's thread.

        Committed when the body returns, rolled back when it raises. The body runs on that
        thread: it may await only ``tx``'s methods (anything else raises ``BodySuspended``)
        and must touch no state the event loop's thread changes. Context variables (the
        log's job id) are carried over. A caller cancelled meanwhile does not stop the body:
        it still commits or rolls back there, and the caller sees the cancellation; what
        must follow a commit goes in ``committed``, called with the body's result on the
        event loop's thread after the commit (before this returns), cancelled or not.
        """
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        async with self._turn():
            # aiosqlite has no public way to run a function on its thread; _execute is that
            # way in every release the pin in pyproject admits (0.20 to 0.22, checked).
            on_thread: Callable[..., Awaitable[T]] = self._conn._execute
            return await on_thread(context.run, self._run_here, body, loop, committed)

    def _run_here(
        self,
        body: Callable[[Transaction], Awaitable[T]],
        loop: asyncio.AbstractEventLoop,
        committed: Callable[[T], object] | None,
    ) -> T:
        raw = self._raw
        raw.execute("BEGIN IMMEDIATE")
        try:
            step = body(_OnThread(self._conn, raw))
            if not isinstance(step, Coroutine):
                raise TypeError("a Database.run body must be an async function")
            result: T = _complete(step)
            raw.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.OperationalError):  # no transaction is open
                raw.execute("ROLLBACK")
            raise
        if committed is not None:
            # Queued before aiosqlite hands back the result, so it runs first.
            loop.call_soon_threadsafe(committed, result)
        return result

    async def trace(self, callback: Callable[[str], object] | None) -> None:
        """Call ``callback`` with the text of every statement run from now on (None: stop).

        For tests that check each statement's query plan; it runs on the connection's thread.
        """
        on_thread: Callable[..., Awaitable[None]] = self._conn._execute
        await on_thread(self._raw.set_trace_callback, callback)

    @override
    async def listen(self, channel: str, callback: Callable[[str], object]) -> None:
        return  # no notifications on SQLite: the dispatcher polls

    @override
    async def applied_migrations(self) -> set[int] | None:
        async with self._turn():
            async with self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
                ("schema_migrations",),
            ) as cursor:
                known = await cursor.fetchone() is not None
            if not known:
                return None
            async with self._conn.execute("SELECT version FROM schema_migrations") as cursor:
                return {row[0] for row in await cursor.fetchall()}

    async def migrate(self) -> list[str]:
        """Apply the migrations not applied yet, in order; the names of those applied."""
        applied: list[str] = []
        async with self._turn():
            await self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            async with self._conn.execute("SELECT version FROM schema_migrations") as cursor:
                done = {row[0] for row in await cursor.fetchall()}
            pending = [m for m in migrations(self.engine) if m[0] not in done]
            if not pending:
                return applied
            # SQLite's procedure for rebuilding a table: foreign keys off for the migration,
            # checked before it commits. With them on, DROP TABLE deletes row by row and
            # searches each row's children: hours for a million jobs.
            await self._conn.execute("PRAGMA foreign_keys=OFF")
            try:
                for version, name, sql in pending:
                    # executescript runs the whole file; BEGIN keeps file and record atomic.
                    await self._conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\n")
                    await self._conn.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at)"
                        " VALUES (?, ?, ?)",
                        (version, name, time.time()),
                    )
                    async with self._conn.execute("PRAGMA foreign_key_check") as cursor:
                        broken = list(await cursor.fetchall())
                    if broken:
                        await self._conn.execute("ROLLBACK")
                        raise RuntimeError(
                            f"migration {version:04d}_{name} breaks {len(broken)} foreign keys"
                        )
                    await self._conn.execute("COMMIT")
                    log.info("applied migration %04d_%s", version, name)
                    applied.append(f"{version:04d}_{name}")
            finally:
                await self._conn.execute("PRAGMA foreign_keys=ON")
        return applied


async def _incremental_vacuum(conn: aiosqlite.Connection) -> None:
    """Let retention give pages back to the file system (``PRAGMA incremental_vacuum``).

    The mode is fixed when the file is created; an older file switches with one VACUUM,
    which rewrites it (once, at the first start after the upgrade).
    """
    async with conn.execute("PRAGMA auto_vacuum") as cursor:
        row = await cursor.fetchone()
    if row is not None and row[0] == 2:  # 2: INCREMENTAL
        return
    await conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    log.info("switching the database to incremental vacuum (one VACUUM)")
    await conn.execute("VACUUM")
