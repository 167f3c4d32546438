"""The ledger roll-up pass: closed periods keep one row per member, sums and audit intact."""

from bot.quota import LedgerEntry, LedgerKind, QuotaService
from bot.quota.rollup import LedgerRollup, RollupReport
from bot.settings import QuotaSettings
from bot.store.budgets import BudgetPeriod, BudgetRepository, GuildPeriod
from bot.store.database import Database
from tests.quota.conftest import Clock
from tests.quota.helpers import GUILD, MEMBER, commit, ledger_count, refund, reserve, usage_rows

DAY = 86_400.0
OTHER = 11


def rollup(db: Database, clock: Clock, **settings: object) -> LedgerRollup:
    return LedgerRollup(db, QuotaSettings.model_validate(settings), clock=clock)


async def entries(quota: QuotaService, user_id: int | None = None) -> list[LedgerEntry]:
    return await quota.ledger(guild_id=GUILD, user_id=user_id, limit=1_000)


async def test_a_closed_period_becomes_one_row_per_member(
    db: Database, quota: QuotaService, clock: Clock
) -> None:
    for job_id in (1, 2, 3):
        await reserve(db, quota, job_id, 1_000)
    await reserve(db, quota, 4, 500, user_id=OTHER)
    await commit(db, quota, 1)
    await commit(db, quota, 2)
    await refund(db, quota, 3)
    await commit(db, quota, 4)
    await quota.grant(guild_id=GUILD, user_id=MEMBER, amount=250, actor_id=99, reason="prize")
    before = await usage_rows(db)
    clock.advance(DAY)
    report = await rollup(db, clock).run_once()
    assert report == RollupReport(periods=1, members=2, entries=8)
    mine = await entries(quota, MEMBER)
    assert [(e.kind, e.amount, e.reason) for e in mine] == [
        (LedgerKind.GRANT, 250, "prize"),
        (LedgerKind.ROLLUP, 2_000, "3 jobs: 2 charged, 1 refunded"),
    ]
    assert (mine[1].jobs_charged, mine[1].jobs_refunded, mine[1].job_id) == (2, 1, None)
    other = await entries(quota, OTHER)
    assert [(e.kind, e.amount, e.reason) for e in other] == [
        (LedgerKind.ROLLUP, 500, "1 job: 1 charged, 0 refunded")
    ]
    assert await usage_rows(db) == before
    assert await ledger_count(db) == 3


async def test_the_current_period_and_a_held_reservation_are_left_alone(
    db: Database, quota: QuotaService, clock: Clock
) -> None:
    await reserve(db, quota, 1, 1_000)
    await commit(db, quota, 1)
    assert await rollup(db, clock).run_once() == RollupReport()  # still the current day
    await reserve(db, quota, 2, 1_000)
    clock.advance(DAY)
    assert (await rollup(db, clock).pending()).entries == 0
    assert await rollup(db, clock).run_once() == RollupReport()  # job 2 is still held
    await commit(db, quota, 2)
    assert (await rollup(db, clock).pending()) == RollupReport(periods=1, members=1, entries=4)
    assert (await rollup(db, clock).run_once()).entries == 4


async def test_the_guild_period_kind_decides_what_is_closed(
    db: Database, quota: QuotaService, clock: Clock
) -> None:
    await reserve(db, quota, 1, 1_000)
    await commit(db, quota, 1)
    clock.advance(DAY)
    # Under a monthly budget the day that ended is still part of the current period.
    assert await rollup(db, clock, period="month").run_once() == RollupReport()
    assert (await rollup(db, clock, period="day").run_once()).entries == 2


async def period(db: Database, kind: BudgetPeriod) -> None:
    async with db.transaction() as tx:
        await BudgetRepository().set_period(tx, GUILD, GuildPeriod(period=kind), now=0.0)


async def test_a_second_pass_changes_nothing_and_late_entries_join_the_row(
    db: Database, quota: QuotaService, clock: Clock
) -> None:
    daily = rollup(db, clock)
    await period(db, BudgetPeriod.MONTH)
    await reserve(db, quota, 1, 1_000)
    await commit(db, quota, 1)
    await period(db, BudgetPeriod.DAY)  # the month that held job 1 is now a closed period
    assert (await daily.run_once()).entries == 2
    after = await entries(quota)
    assert await daily.run_once() == RollupReport()
    assert await entries(quota) == after
    # Back to monthly budgets, the month is current again: its new jobs join the same row.
    await period(db, BudgetPeriod.MONTH)
    await reserve(db, quota, 2, 500)
    await refund(db, quota, 2)
    await period(db, BudgetPeriod.DAY)
    before = await usage_rows(db)
    assert (await daily.run_once()).entries == 2
    rolled = await entries(quota)
    assert [(e.kind, e.amount, e.reason) for e in rolled] == [
        (LedgerKind.ROLLUP, 1_000, "2 jobs: 1 charged, 1 refunded")
    ]
    assert rolled[0].id == after[0].id + 2  # the place of the member's last entry
    assert await usage_rows(db) == before


async def test_the_balance_and_the_ledger_page_read_the_same_after_a_roll_up(
    db: Database, quota: QuotaService, clock: Clock
) -> None:
    for job_id in range(1, 6):
        await reserve(db, quota, job_id, 1_000)
        await (commit if job_id % 2 else refund)(db, quota, job_id)
    await quota.adjust(guild_id=GUILD, user_id=MEMBER, amount=-500, actor_id=99, reason="oops")
    clock.advance(DAY)
    await reserve(db, quota, 6, 1_000)  # today's, still held
    balance = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=())
    page = await entries(quota, MEMBER)
    await rollup(db, clock).run_once()
    assert await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=()) == balance
    rolled = await entries(quota, MEMBER)
    # Newest first as before: today's reserve, the moderator's adjustment, then the day's jobs
    # (kept at the place of their last entry), charged the same in all.
    kept = [
        e
        for e in page
        if e.kind not in (LedgerKind.RESERVE, LedgerKind.COMMIT, LedgerKind.REFUND) or e.job_id == 6
    ]
    assert rolled[:-1] == kept
    assert rolled[-1].kind is LedgerKind.ROLLUP
    assert rolled[-1].id == max(e.id for e in page if e.job_id in range(1, 6))
    charged = sum(e.amount for e in page if e.kind is LedgerKind.COMMIT)
    assert (rolled[-1].amount, rolled[-1].jobs_charged, rolled[-1].jobs_refunded) == (charged, 3, 2)
