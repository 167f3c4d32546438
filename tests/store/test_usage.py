import pytest

from bot.store.database import Database
from bot.store.usage import Usage, UsageKey, UsageRepository

usage = UsageRepository()
MEMBER = UsageKey(guild_id=1, user_id=10, period_start=0.0)
POOL = UsageKey(guild_id=1, user_id=None, period_start=0.0)


async def test_reservations_pass_only_while_they_fit(db: Database) -> None:
    async with db.transaction() as tx:
        assert await usage.try_reserve(tx, MEMBER, 600, 1_000)
        assert not await usage.try_reserve(tx, MEMBER, 401, 1_000)
        assert await usage.try_reserve(tx, MEMBER, 400, 1_000)
        assert await usage.try_reserve(tx, MEMBER, 0, 1_000)
        assert await usage.try_reserve(tx, POOL, 10**9, None)
        assert await usage.get(tx, MEMBER) == Usage(reserved=1_000)
        assert await usage.get(tx, POOL) == Usage(reserved=10**9)


async def test_settling_moves_holds_to_used_or_frees_them(db: Database) -> None:
    async with db.transaction() as tx:
        await usage.try_reserve(tx, MEMBER, 1_000, None)
        await usage.settle(tx, MEMBER, 700, charged=True)
        await usage.settle(tx, MEMBER, 300, charged=False)
        assert await usage.get(tx, MEMBER) == Usage(used=700, committed=700, jobs=1)
        assert await usage.clear_used(tx, MEMBER) == -700
        assert await usage.get(tx, MEMBER) == Usage(committed=700, jobs=1)
        assert await usage.lifetime(tx, guild_id=1, user_id=10) == (700, 1)
        assert await usage.lifetime(tx, guild_id=1, user_id=11) == (0, 0)


async def test_a_negative_bonus_never_leaves_less_than_nothing(db: Database) -> None:
    async with db.transaction() as tx:
        await usage.try_reserve(tx, MEMBER, 600, 1_000)
        assert not await usage.try_add_bonus(tx, MEMBER, -401, 1_000)
        assert await usage.try_add_bonus(tx, MEMBER, -400, 1_000)
        assert await usage.try_add_bonus(tx, MEMBER, 50, 1_000)
        assert await usage.get(tx, MEMBER) == Usage(reserved=600, bonus=-350)
        assert (await usage.get(tx, MEMBER)).remaining(1_000) == 50


@pytest.mark.parametrize(
    ("row", "limit", "remaining"),
    [
        (Usage(), None, None),
        (Usage(used=5, reserved=3, bonus=2), 10, 4),
        (Usage(used=20), 10, 0),
    ],
)
def test_remaining_is_never_negative(row: Usage, limit: int | None, remaining: int | None) -> None:
    assert row.remaining(limit) == remaining


async def test_a_first_reservation_over_the_limit_is_refused(db: Database) -> None:
    async with db.transaction() as tx:
        assert not await usage.try_reserve(tx, MEMBER, 1_001, 1_000)
        assert await usage.get(tx, MEMBER) == Usage()
        assert await usage.try_reserve(tx, POOL, 1_000, 1_000)
        assert await usage.get(tx, POOL) == Usage(reserved=1_000)
