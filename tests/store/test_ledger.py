import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.database import Database
from bot.store.ledger import LedgerKind, LedgerRepository

ledger = LedgerRepository()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(f"sqlite:///{tmp_path}/ledger.db")
    yield database
    await database.close()


async def test_entries_round_trip_newest_first(db: Database) -> None:
    async with db.transaction() as tx:
        first = await ledger.append(
            tx,
            guild_id=1,
            user_id=None,
            job_id=None,
            kind=LedgerKind.GRANT,
            amount=2_500,
            actor_id=9,
            reason="event",
            created_at=100.5,
            period_start=0.0,
        )
        second = await ledger.append(
            tx,
            guild_id=1,
            user_id=10,
            job_id=77,
            kind=LedgerKind.RESERVE,
            amount=1_000,
            actor_id=10,
            reason="job submitted",
            created_at=101.0,
            period_start=0.0,
        )
    async with db.transaction() as tx:
        assert await ledger.page(tx, guild_id=1) == [second, first]
        assert await ledger.page(tx, guild_id=1, user_id=10) == [second]
        assert await ledger.page(tx, guild_id=1, limit=1, offset=1) == [first]
        assert await ledger.page(tx, guild_id=2) == []
        assert await ledger.for_job(tx, 77) == [second]
    assert first.created.timestamp() == 100.5


async def test_a_job_has_one_entry_of_each_kind(db: Database) -> None:
    async def append(kind: LedgerKind) -> None:
        async with db.transaction() as tx:
            await ledger.append(
                tx,
                guild_id=1,
                user_id=10,
                job_id=5,
                kind=kind,
                amount=1,
                actor_id=None,
                reason="",
                created_at=0.0,
                period_start=0.0,
            )

    await append(LedgerKind.RESERVE)
    await append(LedgerKind.COMMIT)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        await append(LedgerKind.COMMIT)
