import pytest

from bot.errors import UserFacingError
from bot.quota import BudgetPeriod, LedgerKind, QuotaService
from bot.store.database import Database
from tests.quota.helpers import GUILD, MEMBER, commit, ledger_count, reserve, usage_rows

MOD = 99


async def member_remaining(quota: QuotaService, user_id: int = MEMBER) -> int | None:
    return (await quota.balance(guild_id=GUILD, user_id=user_id, role_ids=[])).member_remaining


async def test_budgets_show_sources_overrides_and_the_pool(
    db: Database, quota: QuotaService
) -> None:
    untouched = await quota.budgets(guild_id=GUILD)
    assert (untouched.pool, untouched.pool_is_default, untouched.period_is_default) == (
        None,
        True,
        True,
    )
    await quota.set_guild_budget(
        guild_id=GUILD,
        amount=50_000,
        period=BudgetPeriod.MONTH,
        reset_hour=6,
        actor_id=MOD,
        reason="launch",
    )
    await quota.set_default_member_budget(guild_id=GUILD, amount=None, actor_id=MOD, reason="")
    await quota.set_role_budget(guild_id=GUILD, role_id=5, amount=3_000, actor_id=MOD, reason="")
    await quota.set_member_budget(
        guild_id=GUILD, user_id=MEMBER, amount=0, actor_id=MOD, reason="abuse"
    )
    await reserve(db, quota, job_id=1, amount=0)
    await reserve(db, quota, job_id=2, amount=2_000, user_id=MEMBER + 1)
    budgets = await quota.budgets(guild_id=GUILD)
    assert (budgets.period, budgets.reset_hour, budgets.period_is_default) == (
        BudgetPeriod.MONTH,
        6,
        False,
    )
    assert budgets.period_end.isoformat() == "2026-04-01T06:00:00+00:00"
    assert (budgets.pool, budgets.pool_is_default) == (50_000, False)
    assert (budgets.default_member, budgets.default_member_is_default) == (None, False)
    assert (budgets.roles, budgets.members) == ({5: 3_000}, {MEMBER: 0})
    assert (budgets.pool_reserved, budgets.pool_remaining) == (2_000, 48_000)


async def test_changing_only_the_reset_hour_keeps_the_period(quota: QuotaService) -> None:
    await quota.set_guild_budget(
        guild_id=GUILD, amount=1, period=BudgetPeriod.WEEK, actor_id=MOD, reason=""
    )
    await quota.set_guild_budget(guild_id=GUILD, amount=1, reset_hour=3, actor_id=MOD, reason="")
    budgets = await quota.budgets(guild_id=GUILD)
    assert (budgets.period, budgets.reset_hour) == (BudgetPeriod.WEEK, 3)


async def test_removing_an_override_falls_back_to_the_next_level(quota: QuotaService) -> None:
    await quota.set_default_member_budget(guild_id=GUILD, amount=2_000, actor_id=MOD, reason="")
    await quota.set_member_budget(
        guild_id=GUILD, user_id=MEMBER, amount=9_000, actor_id=MOD, reason=""
    )
    assert await member_remaining(quota) == 9_000
    await quota.set_member_budget(
        guild_id=GUILD, user_id=MEMBER, amount=None, actor_id=MOD, reason=""
    )
    assert await member_remaining(quota) == 2_000
    assert (await quota.budgets(guild_id=GUILD)).members == {}


@pytest.mark.parametrize(
    "change",
    [
        {"method": "set_guild_budget", "amount": -1},
        {"method": "set_guild_budget", "amount": 5, "reset_hour": 24},
        {"method": "set_default_member_budget", "amount": -1000},
        {"method": "set_role_budget", "role_id": 5, "amount": -1},
        {"method": "set_member_budget", "user_id": MEMBER, "amount": -1},
        {"method": "grant", "user_id": MEMBER, "amount": 0},
        {"method": "grant", "user_id": None, "amount": -500},
        {"method": "adjust", "user_id": MEMBER, "amount": 0},
    ],
)
async def test_bad_amounts_are_refused_with_a_message_and_write_nothing(
    db: Database, quota: QuotaService, change: dict[str, object]
) -> None:
    arguments = {key: value for key, value in change.items() if key != "method"}
    with pytest.raises(UserFacingError) as refused:
        await getattr(quota, str(change["method"]))(
            guild_id=GUILD, actor_id=MOD, reason="", **arguments
        )
    assert refused.value.message.endswith(".")
    assert (await quota.budgets(guild_id=GUILD)).pool is None
    assert await ledger_count(db) == 0


async def test_grants_add_credits_for_this_period(db: Database, quota: QuotaService) -> None:
    await quota.set_guild_budget(guild_id=GUILD, amount=1_000, actor_id=MOD, reason="")
    await quota.set_default_member_budget(guild_id=GUILD, amount=1_000, actor_id=MOD, reason="")
    await quota.grant(guild_id=GUILD, user_id=MEMBER, amount=500, actor_id=MOD, reason="event")
    await quota.grant(guild_id=GUILD, user_id=None, amount=500, actor_id=MOD, reason="event")
    balance = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert (balance.member_limit, balance.guild_limit) == (1_500, 1_500)
    await reserve(db, quota, job_id=1, amount=1_500)
    entries = await quota.ledger(guild_id=GUILD)
    assert [(e.kind, e.user_id, e.actor_id) for e in entries[1:]] == [
        (LedgerKind.GRANT, None, MOD),
        (LedgerKind.GRANT, MEMBER, MOD),
    ]


async def test_a_negative_adjustment_never_leaves_less_than_nothing(
    db: Database, quota: QuotaService
) -> None:
    await quota.set_default_member_budget(guild_id=GUILD, amount=3_000, actor_id=MOD, reason="")
    await reserve(db, quota, job_id=1, amount=1_000)
    await commit(db, quota, job_id=1)
    await reserve(db, quota, job_id=2, amount=500)
    await quota.adjust(guild_id=GUILD, user_id=MEMBER, amount=-1_000, actor_id=MOD, reason="fix")
    assert await member_remaining(quota) == 500
    before = await usage_rows(db)
    with pytest.raises(UserFacingError, match=r"only 0\.5 credits"):
        await quota.adjust(
            guild_id=GUILD, user_id=MEMBER, amount=-501, actor_id=MOD, reason="too much"
        )
    assert await usage_rows(db) == before
    await quota.adjust(guild_id=GUILD, user_id=MEMBER, amount=-500, actor_id=MOD, reason="all")
    assert await member_remaining(quota) == 0
    await quota.adjust(guild_id=GUILD, user_id=MEMBER, amount=2_000, actor_id=MOD, reason="back")
    assert await member_remaining(quota) == 2_000


async def test_reset_clears_this_period_usage_but_not_lifetime_or_holds(
    db: Database, quota: QuotaService
) -> None:
    await quota.set_guild_budget(guild_id=GUILD, amount=4_000, actor_id=MOD, reason="")
    await quota.set_default_member_budget(guild_id=GUILD, amount=2_000, actor_id=MOD, reason="")
    await reserve(db, quota, job_id=1, amount=1_500)
    await commit(db, quota, job_id=1)
    await reserve(db, quota, job_id=2, amount=500)
    await quota.reset(guild_id=GUILD, user_id=MEMBER, actor_id=MOD, reason="new event")
    balance = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
    assert (balance.member_used, balance.member_reserved, balance.member_remaining) == (
        0,
        500,
        1_500,
    )
    assert (balance.guild_used, balance.lifetime_used) == (1_500, 1_500)
    await quota.reset(guild_id=GUILD, user_id=None, actor_id=MOD, reason="pool too")
    assert (await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])).guild_used == 0
    resets = [e for e in await quota.ledger(guild_id=GUILD) if e.kind is LedgerKind.RESET]
    assert [(e.user_id, e.amount, e.reason) for e in resets] == [
        (None, -1_500, "pool too"),
        (MEMBER, -1_500, "new event"),
    ]


async def test_the_ledger_pages_newest_first_per_guild_or_member(
    db: Database, quota: QuotaService
) -> None:
    for job_id in range(5):
        await reserve(db, quota, job_id=job_id, amount=job_id, user_id=MEMBER + job_id % 2)
    await reserve(db, quota, job_id=99, amount=1, guild_id=GUILD + 1)
    everything = await quota.ledger(guild_id=GUILD, limit=100)
    assert [e.job_id for e in everything] == [4, 3, 2, 1, 0]
    page = await quota.ledger(guild_id=GUILD, limit=2, offset=2)
    assert [e.job_id for e in page] == [2, 1]
    mine = await quota.ledger(guild_id=GUILD, user_id=MEMBER + 1)
    assert [e.job_id for e in mine] == [3, 1]
    assert all(e.created.tzinfo is not None for e in everything)
