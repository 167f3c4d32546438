from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.store.database import Database, sqlite_path


def test_sqlite_path_reads_relative_absolute_and_memory_urls() -> None:
    assert sqlite_path("sqlite:///data/tessera.db") == "data/tessera.db"
    assert sqlite_path("sqlite:////var/lib/tessera.db") == "/var/lib/tessera.db"
    assert sqlite_path("sqlite:///:memory:") == ":memory:"


def test_unsupported_database_url_names_the_fix() -> None:
    with pytest.raises(ConfigError, match="use sqlite:///"):
        sqlite_path("postgresql://localhost/tessera")


async def test_migrations_are_recorded_once_and_the_file_is_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/nested/tessera.db"
    db = await Database.open(url)
    await db.close()
    db = await Database.open(url)
    try:
        assert await db.migrate() == []
        async with db.transaction() as tx:
            versions = [
                row[0] for row in await tx.fetch_all("SELECT version FROM schema_migrations")
            ]
            assert versions == sorted(set(versions))
            assert await tx.fetch_value("PRAGMA journal_mode") == "wal"
            assert await tx.fetch_value("PRAGMA foreign_keys") == 1
    finally:
        await db.close()
    assert (tmp_path / "nested" / "tessera.db").exists()


async def test_a_failed_transaction_rolls_back(tmp_path: Path) -> None:
    db = await Database.open(f"sqlite:///{tmp_path}/t.db")
    try:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE t (v INTEGER)")

        async def insert_then_fail() -> None:
            async with db.transaction() as tx:
                await tx.insert("INSERT INTO t (v) VALUES (?)", (1,))
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await insert_then_fail()
        async with db.transaction() as tx:
            assert await tx.fetch_value("SELECT COUNT(*) FROM t") == 0
    finally:
        await db.close()
