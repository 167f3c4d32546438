"""PostgreSQL through asyncpg: the store for several processes on several machines.

The same SQL as SQLite runs here: each ``?`` becomes ``$n`` (once per statement text, cached),
an ``insert`` returns the new ``id`` through ``RETURNING``. Transactions are serialised across
every process on the database by one transaction-scoped advisory lock taken first, which
gives the repositories the guarantee SQLite's ``BEGIN IMMEDIATE`` gives them: a check and the
write that depends on it (a waiting-job limit, a quota reservation, a claim) cannot
interleave with another process's. It is held for the length of one short transaction;
nothing slow (a provider call, a Discord request) ever runs inside one.

Migrations take a second advisory lock, so processes that start together apply them once.
asyncpg is imported here only: a SQLite deployment never loads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

from typing_extensions import override

from bot.errors import ConfigError
from bot.store.database import Database, Params, Row, Transaction, migrations

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

T = TypeVar("T")
# The advisory locks are keyed (class, schema): two Tessera deployments in two schemas of one
# database do not wait for each other. The classes: "TESS" and "TESS" + 1 as 32-bit numbers.
TRANSACTION_LOCK = 0x54455353
MIGRATION_LOCK = TRANSACTION_LOCK + 1
_LOCK_KEY = "$1, hashtext(current_schema())"
_BEGIN_UNLOCKED = "BEGIN ISOLATION LEVEL READ COMMITTED"
_BEGIN = (
    "BEGIN ISOLATION LEVEL READ COMMITTED;"
    f" SELECT pg_advisory_xact_lock({TRANSACTION_LOCK}, hashtext(current_schema()))"
)
_WORD_BEFORE_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)


@lru_cache(maxsize=1024)
def numbered(sql: str) -> str:
    """``sql`` with each ``?`` outside quotes and comments numbered ``$1, $2, ...``.

    Line comments and single- and double-quoted text are understood; block comments and
    dollar-quoted text are refused rather than misread (the store's SQL uses neither).
    """
    if "/*" in sql or "$$" in sql:
        raise ValueError("block comments and dollar quotes are not supported in store SQL")
    out: list[str] = []
    count = 0
    index = 0
    length = len(sql)
    while index < length:
        char = sql[index]
        if char in "'\"":
            end = sql.find(char, index + 1)
            end = length if end < 0 else end + 1
            out.append(sql[index:end])
            index = end
            continue
        if sql.startswith("--", index):
            end = sql.find("\n", index)
            end = length if end < 0 else end
            out.append(sql[index:end])
            index = end
            continue
        if char == "?":
            count += 1
            out.append(f"${count}")
        else:
            out.append(char)
        index += 1
    return "".join(out)


def _changed(status: str) -> int:
    """The row count in a command tag (``UPDATE 3``, ``INSERT 0 5``); 0 when it has none."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


async def _left_clean(_conn: object) -> None:
    """What the pool runs on a connection given back: nothing to undo.

    asyncpg's default sends ``RESET ALL``, ``UNLISTEN *`` and ``pg_advisory_unlock_all()``,
    one round trip more per transaction. Here every use ends its transaction, sets nothing for
    the session, listens on a connection of its own, and ends a session lock (the migrations')
    or closes the connection (``migrate``).
    """


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("a transaction whose caller was cancelled failed", exc_info=task.exception())


class PostgresTransaction(Transaction):
    """Statements on the connection that holds this transaction."""

    engine = "postgresql"

    def __init__(
        self,
        conn: asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any],
        trace: Callable[[str], object] | None,
    ) -> None:
        self._conn = conn
        self._trace = trace

    def _sql(self, sql: str) -> str:
        text = numbered(sql)
        if self._trace is not None:
            self._trace(text)
        return text

    @override
    async def execute(self, sql: str, params: Params = ()) -> int:
        return _changed(await self._conn.execute(self._sql(sql), *params))

    @override
    async def insert(self, sql: str, params: Params = ()) -> int:
        text = sql if _WORD_BEFORE_RETURNING.search(sql) else f"{sql} RETURNING id"
        value = await self._conn.fetchval(self._sql(text), *params)
        if value is None:
            raise RuntimeError("INSERT produced no row id")
        return int(value)

    @override
    async def execute_many(self, sql: str, rows: Iterable[Params]) -> int:
        # executemany reports no counts: each row runs as its own statement (prepared once).
        statement = await self._conn.prepare(self._sql(sql))
        changed = 0
        for row in rows:
            await statement.fetch(*row)
            changed += _changed(statement.get_statusmsg() or "")
        return changed

    @override
    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return cast(list[Row], await self._conn.fetch(self._sql(sql), *params))

    @override
    async def notify(self, channel: str, payload: str = "") -> None:
        await self._conn.execute("SELECT pg_notify($1, $2)", channel, payload)


class PostgresDatabase(Database):
    """A PostgreSQL database shared by every Tessera process that names it."""

    engine = "postgresql"

    def __init__(self, pool: asyncpg.Pool[Any], url: str) -> None:
        super().__init__()
        self._pool = pool
        self._url = url
        self._listener: asyncpg.Connection[Any] | None = None
        self._channels: dict[str, list[Callable[[str], object]]] = {}
        self._relisten: asyncio.Future[None] | None = None
        self._trace: Callable[[str], object] | None = None

    @classmethod
    async def connect(cls, url: str, *, migrate: bool = True) -> PostgresDatabase:
        """Open a small pool on the URL and apply the pending migrations."""
        try:
            import asyncpg
        except ImportError as exc:
            raise ConfigError(
                [
                    "database.url names PostgreSQL, but asyncpg is not installed: "
                    "pip install -e '.[postgres]'"
                ]
            ) from exc
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=2,
                command_timeout=60,
                # A process frozen inside a transaction (stopped, its VM paused) would hold the
                # lock every transaction takes: the server ends such a session after a minute.
                server_settings={"idle_in_transaction_session_timeout": "60000"},
                reset=_left_clean,
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise ConfigError([f"database.url: cannot connect to PostgreSQL: {exc}"]) from exc
        database = cls(pool, url)
        if migrate:
            try:
                await database.migrate()
            except BaseException:
                await database.close()
                raise
        return database

    @override
    async def _disconnect(self) -> None:
        if self._relisten is not None:
            self._relisten.cancel()
        if self._listener is not None:
            listener, self._listener = self._listener, None
            listener.remove_termination_listener(self._listener_lost)
            await listener.close()
        await self._pool.close()

    @override
    async def listen(self, channel: str, callback: Callable[[str], object]) -> None:
        self._channels.setdefault(channel, []).append(callback)
        if self._relisten is not None:
            return  # the reconnection registers every channel
        if self._listener is None or self._listener.is_closed():
            await self._connect_listener()
        else:
            await self._listener.add_listener(channel, self._heard)

    def _heard(self, _conn: object, _pid: int, channel: str, payload: object) -> None:
        for callback in self._channels.get(channel, []):
            callback(str(payload))

    async def _connect_listener(self) -> None:
        """A connection of its own (a pooled one stops listening when given back)."""
        import asyncpg

        listener = await asyncpg.connect(self._url)
        try:
            for channel in list(self._channels):
                await listener.add_listener(channel, self._heard)
            listener.add_termination_listener(self._listener_lost)
        except BaseException:
            listener.terminate()
            raise
        self._listener = listener

    def _listener_lost(self, conn: object) -> None:
        if self._closed or self._relisten is not None or conn is not self._listener:
            return
        log.warning("lost the notification connection to PostgreSQL; reconnecting")
        self._relisten = asyncio.ensure_future(self._reconnect_listener())

    async def _reconnect_listener(self) -> None:
        delay = 0.5
        try:
            while not self._closed:
                try:
                    await self._connect_listener()
                except Exception:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
                    continue
                log.info("listening to PostgreSQL notifications again")
                return
        finally:
            self._relisten = None

    @override
    @asynccontextmanager
    async def transaction(self, *, serialised: bool = True) -> AsyncIterator[Transaction]:
        async with self._turn(), self._pool.acquire() as conn:
            # BEGIN and the lock in one round trip (a transaction is a few short statements,
            # so trips are most of its time). READ COMMITTED whatever the server's default:
            # each statement after the lock sees everything committed before it was granted.
            try:
                await conn.execute(_BEGIN if serialised else _BEGIN_UNLOCKED)
                yield PostgresTransaction(conn, self._trace)
                status = await conn.execute("COMMIT")
                if status != "COMMIT":
                    # An aborted transaction "commits" as ROLLBACK, without an error.
                    raise RuntimeError(f"the transaction was rolled back ({status})")
            except BaseException:
                if not conn.is_closed():
                    # A cancelled or failed transaction: asyncpg's release would roll it
                    # back too, but the lock must not wait for the pool.
                    with contextlib.suppress(Exception):
                        await conn.execute("ROLLBACK")
                raise

    @override
    async def run(
        self,
        body: Callable[[Transaction], Awaitable[T]],
        *,
        committed: Callable[[T], object] | None = None,
    ) -> T:
        async def whole() -> T:
            async with self.transaction() as tx:
                result = await body(tx)
            if committed is not None:
                committed(result)
            return result

        # Shielded: a cancelled caller leaves the transaction to commit or roll back whole,
        # as SQLite's run does on its thread. Its error, if nobody waits for it any more, is
        # retrieved (and logged) rather than reported as never retrieved.
        task = asyncio.ensure_future(whole())
        task.add_done_callback(_retrieve)
        return await asyncio.shield(task)

    @override
    async def trace(self, callback: Callable[[str], object] | None) -> None:
        self._trace = callback

    @override
    async def applied_migrations(self) -> set[int] | None:
        async with self._pool.acquire() as conn:
            known = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
            if not known:
                return None
            return {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}

    @override
    async def migrate(self) -> list[str]:
        applied: list[str] = []
        async with self._turn(), self._pool.acquire() as conn:
            await conn.execute(f"SELECT pg_advisory_lock({_LOCK_KEY})", MIGRATION_LOCK)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version BIGINT PRIMARY KEY, name TEXT NOT NULL,"
                    " applied_at DOUBLE PRECISION NOT NULL)"
                )
                done = {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}
                for version, name, sql in migrations(self.engine):
                    if version in done:
                        continue
                    # PostgreSQL's DDL is transactional: a file and its record land together.
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute(
                            "INSERT INTO schema_migrations (version, name, applied_at)"
                            " VALUES ($1, $2, $3)",
                            version,
                            name,
                            time.time(),
                        )
                    log.info("applied migration %04d_%s", version, name)
                    applied.append(f"{version:04d}_{name}")
            finally:
                try:
                    await conn.execute(f"SELECT pg_advisory_unlock({_LOCK_KEY})", MIGRATION_LOCK)
                except Exception:
                    conn.terminate()  # not given back holding the lock (the pool resets nothing)
        return applied
