"""The quota service's batch paths: many jobs reserved, committed or refunded at once."""

import logging

import pytest

from bot.errors import QuotaExceeded
from bot.quota import LedgerKind, QuotaService
from bot.store.database import Database
from tests.quota.helpers import GUILD, MEMBER, ledger_count, usage_rows
from tests.quota.test_ledger_invariants import fold

OTHER = 11
MOD = 99


async def reserve_many(db: Database, quota: QuotaService, amounts: dict[int, int]) -> None:
    async with db.transaction() as tx:
        await quota.reserve_many(tx, guild_id=GUILD, user_id=MEMBER, role_ids=[], amounts=amounts)


async def summary_matches_ledger(db: Database, quota: QuotaService) -> bool:
    entries = await quota.ledger(guild_id=GUILD, limit=1_000)
    folded = {key: tuple(values) for key, values in fold(entries).items()}
    return folded == await usage_rows(db)


@pytest.mark.parametrize(
    ("pool", "member", "scope"), [(None, 5_000, "member"), (5_000, None, "guild")]
)
async def test_many_jobs_are_reserved_all_or_none(
    db: Database, quota: QuotaService, pool: int | None, member: int | None, scope: str
) -> None:
    await quota.set_guild_budget(guild_id=GUILD, amount=pool, actor_id=MOD, reason="")
    await quota.set_default_member_budget(guild_id=GUILD, amount=member, actor_id=MOD, reason="")
    with pytest.raises(QuotaExceeded) as refused:
        await reserve_many(db, quota, {1: 2_000, 2: 2_000, 3: 1_001})
    assert (refused.value.scope, refused.value.needed, refused.value.available) == (
        scope,
        5_001,
        5_000,
    )
    assert await ledger_count(db) == 0
    assert all(row[0] == 0 for row in (await usage_rows(db)).values())
    await reserve_many(db, quota, {1: 2_000, 2: 2_000, 3: 1_000})  # exactly the budget
    balance = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert (balance.member_reserved, balance.guild_reserved) == (5_000, 5_000)
    reserved = [
        e.job_id for e in await quota.ledger(guild_id=GUILD) if e.kind is LedgerKind.RESERVE
    ]
    assert sorted(reserved) == [1, 2, 3]
    assert await summary_matches_ledger(db, quota)


async def test_a_batch_with_a_job_that_already_holds_a_reservation_is_refused(
    db: Database, quota: QuotaService
) -> None:
    await reserve_many(db, quota, {1: 100})
    with pytest.raises(ValueError, match="already holds"):
        await reserve_many(db, quota, {2: 100, 1: 100})
    assert await summary_matches_ledger(db, quota)
    assert await ledger_count(db) == 1  # the refused batch rolled back with its transaction


async def test_jobs_settled_together_are_charged_each_once(
    db: Database, quota: QuotaService, caplog: pytest.LogCaptureFixture
) -> None:
    await reserve_many(db, quota, {1: 1_000, 2: 500, 3: 250, 4: 0})
    async with db.transaction() as tx:
        await quota.reserve(tx, guild_id=GUILD, user_id=OTHER, role_ids=[], job_id=5, amount=300)
        await quota.refund(tx, job_id=3, reason="failed")
    with caplog.at_level(logging.WARNING, logger="bot.quota"):
        async with db.transaction() as tx:
            await quota.commit_many(tx, [1, 2, 3, 5, 404])
            await quota.refund_many(tx, [2, 4], reason="cancelled")
    warnings = sorted(r.getMessage() for r in caplog.records)
    assert warnings == [
        "job 2 was already committed; ignoring refunded",
        "job 3 was already refunded; ignoring committed",
        "job 404 has no reservation to committed",
    ]
    settled = {
        (e.job_id, e.kind)
        for e in await quota.ledger(guild_id=GUILD, limit=100)
        if e.kind is not LedgerKind.RESERVE
    }
    assert settled == {
        (1, LedgerKind.COMMIT),
        (2, LedgerKind.COMMIT),
        (3, LedgerKind.REFUND),
        (4, LedgerKind.REFUND),
        (5, LedgerKind.COMMIT),
    }
    member = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert (member.member_used, member.member_reserved, member.lifetime_jobs) == (1_500, 0, 2)
    assert (member.guild_used, member.guild_reserved) == (1_800, 0)
    assert await summary_matches_ledger(db, quota)
