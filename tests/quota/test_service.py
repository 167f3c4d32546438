import asyncio
import logging
import math
from datetime import UTC

import pytest

from bot.errors import QuotaExceeded
from bot.quota import BudgetPeriod, LedgerKind, QuotaService, format_credits
from bot.quota.periods import period_window
from bot.settings import QuotaSettings
from bot.store.database import Database
from tests.quota.conftest import Clock
from tests.quota.helpers import (
    GUILD,
    MEMBER,
    commit,
    ledger_count,
    refund,
    reserve,
    usage_rows,
)

MOD = 99
DAY = 86_400.0


async def set_budgets(quota: QuotaService, *, pool: int | None, member: int | None) -> None:
    await quota.set_guild_budget(guild_id=GUILD, amount=pool, actor_id=MOD, reason="test")
    await quota.set_default_member_budget(
        guild_id=GUILD, amount=member, actor_id=MOD, reason="test"
    )


async def test_a_delivered_job_is_charged_to_member_and_pool(
    db: Database, quota: QuotaService
) -> None:
    await set_budgets(quota, pool=20_000, member=5_000)
    await reserve(db, quota, job_id=1, amount=1_500)
    held = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert (held.member_reserved, held.guild_reserved) == (1_500, 1_500)
    assert (held.member_remaining, held.guild_remaining) == (3_500, 18_500)
    await commit(db, quota, job_id=1)
    charged = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert (charged.member_used, charged.member_reserved, charged.member_remaining) == (
        1_500,
        0,
        3_500,
    )
    assert (charged.guild_used, charged.guild_remaining) == (1_500, 18_500)
    assert (charged.lifetime_used, charged.lifetime_jobs) == (1_500, 1)
    kinds = [entry.kind for entry in await quota.ledger(guild_id=GUILD)]
    assert kinds == [LedgerKind.COMMIT, LedgerKind.RESERVE]


async def test_a_refund_gives_the_reservation_back(db: Database, quota: QuotaService) -> None:
    await set_budgets(quota, pool=None, member=2_000)
    await reserve(db, quota, job_id=1, amount=2_000)
    await refund(db, quota, job_id=1, reason="provider failed")
    balance = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert (balance.member_used, balance.member_reserved, balance.member_remaining) == (0, 0, 2_000)
    assert balance.guild_remaining is None
    assert balance.lifetime_jobs == 0
    newest = (await quota.ledger(guild_id=GUILD))[0]
    assert (newest.kind, newest.amount, newest.reason) == (
        LedgerKind.REFUND,
        2_000,
        "provider failed",
    )


@pytest.mark.parametrize(
    ("steps", "settled", "warns"),
    [
        (["commit", "commit"], LedgerKind.COMMIT, False),
        (["refund", "refund"], LedgerKind.REFUND, False),
        (["commit", "refund"], LedgerKind.COMMIT, True),
        (["refund", "commit"], LedgerKind.REFUND, True),
        (["commit", "refund", "commit", "refund"], LedgerKind.COMMIT, True),
    ],
)
async def test_a_reservation_is_settled_exactly_once(
    db: Database,
    quota: QuotaService,
    caplog: pytest.LogCaptureFixture,
    steps: list[str],
    settled: LedgerKind,
    warns: bool,
) -> None:
    await set_budgets(quota, pool=10_000, member=None)
    await reserve(db, quota, job_id=7, amount=1_000)
    with caplog.at_level(logging.WARNING, logger="bot.quota"):
        for step in steps:
            await (commit(db, quota, 7) if step == "commit" else refund(db, quota, 7))
    entries = [e.kind for e in await quota.ledger(guild_id=GUILD) if e.job_id == 7]
    assert entries == [settled, LedgerKind.RESERVE]
    assert any("already" in r.getMessage() for r in caplog.records) == warns
    balance = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert balance.guild_reserved == 0
    assert balance.guild_used == (1_000 if settled is LedgerKind.COMMIT else 0)


async def test_settling_a_job_that_never_reserved_changes_nothing(
    db: Database, quota: QuotaService, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.quota"):
        await commit(db, quota, job_id=404)
        await refund(db, quota, job_id=404)
    assert await ledger_count(db) == 0
    assert sum("no reservation" in r.getMessage() for r in caplog.records) == 2


@pytest.mark.parametrize(
    ("pool", "member", "scope", "available"),
    [(20_000, 1_500, "member", 500), (1_200, 20_000, "guild", 200), (1_200, 1_500, "member", 500)],
)
async def test_a_refusal_by_either_budget_reserves_nothing(
    db: Database,
    quota: QuotaService,
    pool: int,
    member: int,
    scope: str,
    available: int,
) -> None:
    await set_budgets(quota, pool=pool, member=member)
    await reserve(db, quota, job_id=1, amount=1_000)
    before = (await ledger_count(db), await usage_rows(db))
    with pytest.raises(QuotaExceeded) as refused:
        await reserve(db, quota, job_id=2, amount=1_000)
    assert (refused.value.scope, refused.value.needed, refused.value.available) == (
        scope,
        1_000,
        available,
    )
    period_end = (await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])).period_end
    assert f"{format_credits(available)} credits left" in refused.value.message
    assert f"refills <t:{int(period_end.timestamp())}:R>" in refused.value.message
    assert (await ledger_count(db), await usage_rows(db)) == before


async def test_a_caller_can_fall_back_in_the_same_transaction(
    db: Database, quota: QuotaService
) -> None:
    """The auto-relax path: a refused fast reservation, then a free one for the same job."""
    await set_budgets(quota, pool=500, member=5_000)
    async with db.transaction() as tx:
        with pytest.raises(QuotaExceeded):
            await quota.reserve(
                tx, guild_id=GUILD, user_id=MEMBER, role_ids=[], job_id=1, amount=1_000
            )
        await quota.reserve(tx, guild_id=GUILD, user_id=MEMBER, role_ids=[], job_id=1, amount=0)
    balance = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert (balance.member_reserved, balance.guild_reserved) == (0, 0)
    assert [e.amount for e in await quota.ledger(guild_id=GUILD)] == [0]


async def test_a_free_job_always_passes_and_still_counts(db: Database, quota: QuotaService) -> None:
    await set_budgets(quota, pool=0, member=0)
    await reserve(db, quota, job_id=1, amount=0)
    await commit(db, quota, job_id=1)
    balance = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert (balance.lifetime_used, balance.lifetime_jobs, balance.member_remaining) == (0, 1, 0)


async def test_bad_reservations_are_programming_errors(db: Database, quota: QuotaService) -> None:
    with pytest.raises(ValueError, match="negative"):
        await reserve(db, quota, job_id=1, amount=-1)
    await reserve(db, quota, job_id=1, amount=10)
    with pytest.raises(ValueError, match="already holds"):
        await reserve(db, quota, job_id=1, amount=10)


@pytest.mark.parametrize("scope", ["guild", "member"])
async def test_fifty_concurrent_submissions_against_ten_credits_accept_ten(
    db: Database, quota: QuotaService, scope: str
) -> None:
    if scope == "guild":
        await set_budgets(quota, pool=10_000, member=None)
    else:
        await set_budgets(quota, pool=None, member=10_000)

    async def submit(job_id: int) -> bool:
        try:
            await reserve(db, quota, job_id=job_id, amount=1_000)
        except QuotaExceeded:
            return False
        return True

    accepted = await asyncio.gather(*(submit(job_id) for job_id in range(50)))
    assert sum(accepted) == 10
    balance = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert (balance.guild_reserved, balance.member_reserved) == (10_000, 10_000)
    assert await ledger_count(db) == 10


async def test_a_new_period_starts_from_zero_and_old_jobs_settle_in_their_own(
    db: Database, quota: QuotaService, clock: Clock
) -> None:
    await set_budgets(quota, pool=None, member=2_000)
    await reserve(db, quota, job_id=1, amount=2_000)
    first = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert first.member_remaining == 0
    clock.now = first.period_end.timestamp() - 1
    with pytest.raises(QuotaExceeded):
        await reserve(db, quota, job_id=2, amount=1)
    clock.now = first.period_end.timestamp()
    fresh = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert fresh.period_start == first.period_end
    assert (fresh.member_remaining, fresh.member_reserved) == (2_000, 0)
    await commit(db, quota, job_id=1)
    after = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert (after.member_used, after.member_remaining, after.lifetime_used) == (0, 2_000, 2_000)
    old_start = first.period_start.timestamp()
    assert (await usage_rows(db))[(GUILD, MEMBER, old_start)][:2] == (0, 2_000)
    assert (await quota.ledger(guild_id=GUILD))[0].period_start == old_start


@pytest.mark.parametrize("before_end", [1.0, 1e-3, 1e-6, 1e-7, 0.0])
async def test_the_remembered_window_agrees_with_a_fresh_one_up_to_its_end(
    quota: QuotaService, clock: Clock, before_end: float
) -> None:
    first = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    end = first.period_end.timestamp()
    clock.now = math.nextafter(end, 0) if before_end == 0 else end - before_end
    fresh = period_window(clock.now, first.period, first.period_start.hour)
    later = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert (later.period_start, later.period_end) == (fresh.start, fresh.end)


async def test_the_guild_period_and_reset_hour_decide_the_window(
    db: Database, quota: QuotaService, clock: Clock
) -> None:
    # START is Tuesday 2026-03-10 12:00 UTC.
    await quota.set_guild_budget(
        guild_id=GUILD,
        amount=1_000,
        period=BudgetPeriod.WEEK,
        reset_hour=18,
        actor_id=MOD,
        reason="weekly",
    )
    balance = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert balance.period is BudgetPeriod.WEEK
    assert balance.period_start.isoformat() == "2026-03-09T18:00:00+00:00"
    assert balance.period_end.isoformat() == "2026-03-16T18:00:00+00:00"
    assert balance.period_end.tzinfo is UTC
    await reserve(db, quota, job_id=1, amount=1_000)
    clock.advance(6 * DAY)
    with pytest.raises(QuotaExceeded):
        await reserve(db, quota, job_id=2, amount=1_000)
    clock.now = balance.period_end.timestamp()
    await reserve(db, quota, job_id=2, amount=1_000)


async def test_role_overrides_apply_through_the_service(db: Database, quota: QuotaService) -> None:
    await set_budgets(quota, pool=None, member=1_000)
    await quota.set_role_budget(guild_id=GUILD, role_id=5, amount=3_000, actor_id=MOD, reason="")
    await quota.set_role_budget(guild_id=GUILD, role_id=6, amount=4_000, actor_id=MOD, reason="")
    balance = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[5, 6])
    assert balance.member_limit == 4_000
    await reserve(db, quota, job_id=1, amount=3_500, role_ids=[5, 6])
    with pytest.raises(QuotaExceeded):
        await reserve(db, quota, job_id=2, amount=1_000, role_ids=[5])
    await quota.set_member_budget(
        guild_id=GUILD, user_id=MEMBER, amount=10_000, actor_id=MOD, reason="vip"
    )
    await reserve(db, quota, job_id=2, amount=1_000, role_ids=[5])
    assert (await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])).member_remaining == (
        10_000 - 4_500
    )


async def test_configured_defaults_apply_until_moderators_set_budgets(
    db: Database, clock: Clock
) -> None:
    quota = QuotaService(
        db, QuotaSettings(default_guild_budget=3, default_member_budget=1.5), clock=clock
    )
    await reserve(db, quota, job_id=1, amount=1_500)
    with pytest.raises(QuotaExceeded) as refused:
        await reserve(db, quota, job_id=2, amount=1)
    assert refused.value.scope == "member"
    await reserve(db, quota, job_id=3, amount=1_500, user_id=MEMBER + 1)
    with pytest.raises(QuotaExceeded) as pool_refused:
        await reserve(db, quota, job_id=4, amount=1, user_id=MEMBER + 2)
    assert pool_refused.value.scope == "guild"
