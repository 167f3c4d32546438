import pytest

from bot.store.database import Database
from bot.store.ledger import LedgerEntry, LedgerKind, LedgerRepository, NewLedgerEntry
from tests.postgres import integrity_errors

ledger = LedgerRepository()


async def append(db: Database, **changes: object) -> LedgerEntry:
    fields: dict[str, object] = {
        "guild_id": 1,
        "user_id": 10,
        "job_id": None,
        "kind": LedgerKind.GRANT,
        "amount": 1,
        "actor_id": None,
        "reason": "",
        "created_at": 0.0,
        "period_start": 0.0,
    }
    fields.update(changes)
    async with db.transaction() as tx:
        return await ledger.append(tx, **fields)  # type: ignore[arg-type]


async def test_entries_round_trip_newest_first(db: Database) -> None:
    first = await append(
        db, user_id=None, amount=2_500, actor_id=9, reason="event", created_at=100.5
    )
    second = await append(
        db,
        job_id=77,
        kind=LedgerKind.RESERVE,
        amount=1_000,
        actor_id=10,
        reason="job submitted",
        created_at=101.0,
    )
    async with db.transaction() as tx:
        assert await ledger.page(tx, guild_id=1) == [second, first]
        assert await ledger.page(tx, guild_id=1, user_id=10) == [second]
        assert await ledger.page(tx, guild_id=1, limit=1, offset=1) == [first]
        assert await ledger.page(tx, guild_id=2) == []
        assert await ledger.for_job(tx, 77) == [second]
    assert first.created.timestamp() == 100.5
    assert (first.user_id, first.kind, first.reason) == (None, LedgerKind.GRANT, "event")


async def test_a_job_has_one_entry_of_each_kind(db: Database) -> None:
    await append(db, job_id=5, kind=LedgerKind.RESERVE)
    await append(db, job_id=5, kind=LedgerKind.COMMIT)
    with pytest.raises(integrity_errors(), match=r"(?i)unique"):
        await append(db, job_id=5, kind=LedgerKind.COMMIT)


async def test_many_entries_are_appended_in_order(db: Database) -> None:
    entries = [
        NewLedgerEntry(
            guild_id=1,
            user_id=10,
            job_id=job_id,
            kind=LedgerKind.RESERVE,
            amount=amount,
            actor_id=10,
            reason="job submitted",
            created_at=5.0,
            period_start=0.0,
        )
        for job_id, amount in ((3, 100), (4, 0))
    ]
    async with db.transaction() as tx:
        await ledger.append_many(tx, entries)
        await ledger.append_many(tx, [])
        written = await ledger.page(tx, guild_id=1)
    assert [(e.job_id, e.kind, e.amount, e.reason) for e in reversed(written)] == [
        (3, LedgerKind.RESERVE, 100, "job submitted"),
        (4, LedgerKind.RESERVE, 0, "job submitted"),
    ]
