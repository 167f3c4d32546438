import pytest

from bot.store.budgets import (
    BudgetLimit,
    BudgetPeriod,
    BudgetRepository,
    BudgetScope,
    GuildPeriod,
)
from bot.store.database import Database

budgets = BudgetRepository()


async def test_period_choices_round_trip(db: Database) -> None:
    async with db.transaction() as tx:
        assert await budgets.period(tx, 1) == GuildPeriod()
        choice = GuildPeriod(period=BudgetPeriod.WEEK, reset_hour=5)
        await budgets.set_period(tx, 1, choice, now=1.0)
        assert await budgets.period(tx, 1) == choice
        await budgets.set_period(tx, 1, GuildPeriod(reset_hour=2), now=2.0)
        assert await budgets.period(tx, 1) == GuildPeriod(reset_hour=2)


async def test_limits_are_set_replaced_and_removed(db: Database) -> None:
    async with db.transaction() as tx:
        await budgets.set_limit(tx, 1, BudgetScope.GUILD, 0, None, actor_id=9, reason="", now=1.0)
        await budgets.set_limit(tx, 1, BudgetScope.ROLE, 5, 100, actor_id=9, reason="a", now=1.0)
        await budgets.set_limit(tx, 1, BudgetScope.ROLE, 5, 200, actor_id=8, reason="b", now=2.0)
        await budgets.set_limit(tx, 2, BudgetScope.MEMBER, 7, 1, actor_id=9, reason="", now=1.0)
        assert await budgets.limits(tx, 1) == [
            BudgetLimit(
                scope=BudgetScope.GUILD,
                subject_id=0,
                amount=None,
                actor_id=9,
                reason="",
                updated_at=1.0,
            ),
            BudgetLimit(
                scope=BudgetScope.ROLE,
                subject_id=5,
                amount=200,
                actor_id=8,
                reason="b",
                updated_at=2.0,
            ),
        ]
        assert await budgets.remove_limit(tx, 1, BudgetScope.ROLE, 5)
        assert not await budgets.remove_limit(tx, 1, BudgetScope.ROLE, 5)
        assert len(await budgets.limits(tx, 1)) == 1
        with pytest.raises(ValueError, match="negative"):
            await budgets.set_limit(
                tx, 1, BudgetScope.DEFAULT, 0, -1, actor_id=9, reason="", now=1.0
            )


@pytest.mark.parametrize(
    ("period", "limits"), [(False, False), (True, False), (False, True), (True, True)]
)
async def test_period_and_limits_read_together_match_reading_them_apart(
    db: Database, period: bool, limits: bool
) -> None:
    async with db.transaction() as tx:
        if period:
            await budgets.set_period(tx, 1, GuildPeriod(period=BudgetPeriod.MONTH), now=1.0)
        if limits:
            await budgets.set_limit(
                tx, 1, BudgetScope.ROLE, 5, 100, actor_id=9, reason="a", now=1.0
            )
            await budgets.set_limit(
                tx, 1, BudgetScope.GUILD, 0, None, actor_id=9, reason="", now=1.0
            )
        await budgets.set_limit(tx, 2, BudgetScope.MEMBER, 7, 1, actor_id=9, reason="", now=1.0)
        together = await budgets.period_and_limits(tx, 1)
        apart = (await budgets.period(tx, 1), await budgets.limits(tx, 1))
    assert together == apart
    assert len(together[1]) == (2 if limits else 0)
