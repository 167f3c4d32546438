"""The database seam: ``Database`` and ``Transaction``, one implementation per engine.

``open_database(url)`` (``bot.store.connect``) picks the engine from the URL: ``sqlite:///path``
(the embedded default, ``bot.store.sqlite``) or ``postgresql://...`` (``bot.store.postgres``,
asyncpg, imported only then). Everything above the store sees only these two classes.

Every read and write goes through ``Database.transaction()`` or ``Database.run(body)``.
Both engines serialise transactions the same way, so a check followed by a write (the
waiting-job limits, a quota reservation, a conditional claim) needs no lock of its own:
SQLite by ``BEGIN IMMEDIATE`` on one connection, PostgreSQL by one transaction-scoped
advisory lock that every Tessera process on that database takes first. Repositories take
the ``Transaction`` they run in, so a service composes several of them in one commit. The
lock is not re-entrant: pass the transaction down, never open a second one inside the first.

SQL is written once for both: ``?`` parameters (PostgreSQL's ``$n`` are made from them),
upserts with ``ON CONFLICT``, ``RETURNING``, timestamps as epoch seconds in ``REAL`` /
``DOUBLE PRECISION`` columns, CASTs only to types that mean the same in both
(``tests/store/test_portability.py``). Each engine has its own numbered migrations under
``migrations/<engine>/``; a version number means the same schema on both.
"""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources
from typing import Any, ClassVar, Protocol, TypeVar

from bot.errors import ConfigError

Params = Sequence[Any]
T = TypeVar("T")
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


class Row(Protocol):
    """One result row, by column name or position (sqlite3.Row and asyncpg.Record alike)."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


def marks(count: int) -> str:
    """``count`` parameter marks for an ``IN (...)`` list."""
    return ", ".join("?" * count)


def engine_of(url: str) -> str:
    """``sqlite`` or ``postgresql``; a ConfigError naming the forms for anything else."""
    if url.startswith(SQLITE_PREFIX):
        return "sqlite"
    if url.startswith(POSTGRES_PREFIXES):
        return "postgresql"
    scheme = url.split(":", 1)[0]
    raise ConfigError(
        [
            f"database.url: {scheme!r} databases are not supported; use "
            "sqlite:///path/to/tessera.db or postgresql://user@host:5432/dbname"
        ]
    )


def sqlite_path(url: str) -> str:
    """The file path (or ``:memory:``) in a ``sqlite:///`` URL."""
    if engine_of(url) != "sqlite":
        raise ConfigError([f"database.url: {url.split(':', 1)[0]!r} is not a SQLite URL"])
    return url[len(SQLITE_PREFIX) :] or ":memory:"


class Transaction(ABC):
    """One open transaction; only valid inside ``Database.transaction()`` or ``run()``."""

    engine: ClassVar[str]
    """As ``Database.engine``: for the few statements that exist on one engine only."""

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; the number of rows it changed."""

    @abstractmethod
    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an ``INSERT`` into a table with an ``id`` key; the new row's id."""

    @abstractmethod
    async def execute_many(self, sql: str, rows: Iterable[Params]) -> int:
        """Run one statement for each parameter row; the number of rows changed in all."""

    @abstractmethod
    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query (also ``UPDATE ... RETURNING``)."""

    @abstractmethod
    async def notify(self, channel: str, payload: str = "") -> None:
        """Tell other processes' ``Database.listen(channel)`` callbacks, once this commits.

        Only PostgreSQL carries it across processes (NOTIFY); on SQLite it does nothing, and
        the processes sharing a file find new work by polling.
        """

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, or None."""
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]


class DatabaseClosed(RuntimeError):
    """The database was closed (a shutdown) while something still wanted a transaction."""


class Database(ABC):
    """The application's database; open with ``bot.store.connect.open_database(url)``."""

    engine: ClassVar[str]
    """``sqlite`` or ``postgresql``: which migrations apply, and for reports."""

    def __init__(self) -> None:
        # One transaction at a time in this process; both engines serialise them anyway,
        # and waiting here costs no connection.
        self._lock = asyncio.Lock()
        self._closed = False

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """Wait for the connection (one transaction at a time); DatabaseClosed once closed."""
        async with self._lock:
            if self._closed:
                raise DatabaseClosed("the database is closed")
            yield

    async def close(self) -> None:
        """Close the connection(s), after a running transaction; a second close does nothing."""
        async with self._lock:
            if not self._closed:
                self._closed = True
                await self._disconnect()

    @abstractmethod
    async def _disconnect(self) -> None:
        """Close the engine's connection(s)."""

    @abstractmethod
    def transaction(self, *, serialised: bool = True) -> AbstractAsyncContextManager[Transaction]:
        """A serialised transaction: committed on success, rolled back on any error.

        ``serialised=False`` (PostgreSQL) skips the lock every other transaction takes, for
        one statement that is atomic alone and must not wait behind a stalled process (the
        lease). SQLite always serialises.
        """

    @abstractmethod
    async def run(
        self,
        body: Callable[[Transaction], Awaitable[T]],
        *,
        committed: Callable[[T], object] | None = None,
    ) -> T:
        """``body(tx)`` as one transaction, committed when it returns, rolled back on a raise.

        A caller cancelled meanwhile does not stop the body: it still commits or rolls
        back, and the caller sees the cancellation; what must follow a commit goes in
        ``committed``, called with the body's result on the event loop's thread after the
        commit (before this returns), cancelled or not. The body may await only ``tx``'s
        methods (SQLite runs it in one trip to its thread and refuses anything else).
        """

    @abstractmethod
    async def listen(self, channel: str, callback: Callable[[str], object]) -> None:
        """Call ``callback(payload)`` for each ``notify(channel)`` committed by any process.

        A hint, never the only way work is found: a lost connection loses notifications until
        it is back, so listeners also look on their own schedule. SQLite: nothing to listen to.
        """

    @abstractmethod
    async def trace(self, callback: Callable[[str], object] | None) -> None:
        """Call ``callback`` with the text of every statement run from now on (None: stop)."""

    @abstractmethod
    async def applied_migrations(self) -> set[int] | None:
        """The versions applied so far; None when the database has no migrations table."""

    @abstractmethod
    async def migrate(self) -> list[str]:
        """Apply the migrations not applied yet, in order; the names of those applied."""

    async def pending_migrations(self) -> list[str]:
        """The migrations this database has not had yet, by name (changes nothing)."""
        done = await self.applied_migrations() or set()
        return [f"{v:04d}_{name}" for v, name, _ in migrations(self.engine) if v not in done]

    async def schema_version(self) -> int:
        """The highest migration applied (0 for an empty database)."""
        return max(await self.applied_migrations() or {0})


def migrations(engine: str) -> list[tuple[int, str, str]]:
    """The engine's migrations as (version, name, SQL), in order."""
    found = []
    folder = resources.files("bot.store").joinpath("migrations").joinpath(engine)
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two {engine} migrations share a number: {versions}")
    return found
