"""A fresh PostgreSQL schema per test, on the server ``TESSERA_TEST_POSTGRES_URL`` names.

Without the variable the PostgreSQL variants skip, saying why; ``.ci/run`` sets it and
``TESSERA_REQUIRE_POSTGRES=1``, under which a missing URL fails them instead (and a server
that does not answer fails them anyway), so CI cannot pass by skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

import pytest

from bot.store.database import Transaction

POSTGRES_URL_VARIABLE = "TESSERA_TEST_POSTGRES_URL"
ENGINES = ("sqlite", "postgresql")
# Read once, at collection: some tests clear every TESSERA_* variable (tests/test_settings.py).
_SERVER = os.environ.get(POSTGRES_URL_VARIABLE, "")
_REQUIRED = os.environ.get("TESSERA_REQUIRE_POSTGRES") == "1"


def postgres_url() -> str:
    """The test server's URL; skips the test, saying why, where none is configured."""
    url = _SERVER
    if not url and _REQUIRED:
        pytest.fail(f"TESSERA_REQUIRE_POSTGRES=1 but {POSTGRES_URL_VARIABLE} is not set")
    if not url:
        pytest.skip(
            f"{POSTGRES_URL_VARIABLE} is not set (e.g. postgresql://postgres@127.0.0.1/test)"
        )
    return url


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """A URL whose connections see only a new, empty schema; dropped afterwards."""
    import asyncpg

    server = postgres_url()
    schema = f"tessera_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        # asyncpg passes query parameters it does not know to the server as settings.
        joiner = "&" if "?" in server else "?"
        yield f"{server}{joiner}{urlencode({'search_path': schema})}"
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


@asynccontextmanager
async def database_url_for(engine: str, folder: str) -> AsyncIterator[str]:
    """A URL of a new, empty database of ``engine`` (a file in ``folder`` for SQLite)."""
    if engine == "sqlite":
        yield f"sqlite:///{folder}/tessera.db"
        return
    async with postgres_schema() as url:
        yield url


def integrity_errors() -> tuple[type[Exception], ...]:
    """What each engine raises for a broken constraint (a unique key, a foreign key)."""
    import sqlite3

    errors: list[type[Exception]] = [sqlite3.IntegrityError]
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - the dev extra installs it
        return tuple(errors)
    return (*errors, asyncpg.IntegrityConstraintViolationError)


async def table_columns(tx: Transaction, engine: str, table: str) -> list[str]:
    """A table's column names in order, read from the engine's own catalogue."""
    if engine == "sqlite":
        return [row[1] for row in await tx.fetch_all(f"PRAGMA table_info({table})")]
    rows = await tx.fetch_all(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
        (table,),
    )
    return [row[0] for row in rows]
