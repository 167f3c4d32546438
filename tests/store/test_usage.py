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


@pytest.mark.parametrize(
    ("member_before", "pool_before", "member_limit", "pool_limit", "refused"),
    [
        (0, 0, None, None, None),  # unlimited, rows created on first use
        (400, 900, 1_000, 1_500, None),  # both fit exactly
        (401, 0, 1_000, None, "member"),  # the member's allowance refuses
        (0, 901, None, 1_500, "pool"),  # the pool refuses: the member's hold is undone
        (401, 901, 1_000, 1_500, "member"),  # both refuse: the member is named first
    ],
)
async def test_a_pair_holds_both_rows_or_neither(
    db: Database,
    member_before: int,
    pool_before: int,
    member_limit: int | None,
    pool_limit: int | None,
    refused: str | None,
) -> None:
    async with db.transaction() as tx:
        if member_before:
            assert await usage.try_reserve(tx, MEMBER, member_before, None)
        if pool_before:
            assert await usage.try_reserve(tx, POOL, pool_before, None)
        result = await usage.try_reserve_pair(
            tx, MEMBER, POOL, 600, member_limit=member_limit, pool_limit=pool_limit
        )
        held = 0 if refused else 600
        assert result is {None: None, "member": MEMBER, "pool": POOL}[refused]
        assert await usage.get(tx, MEMBER) == Usage(reserved=member_before + held)
        assert await usage.get(tx, POOL) == Usage(reserved=pool_before + held)


async def test_a_pair_of_nothing_always_fits_and_creates_the_rows(db: Database) -> None:
    async with db.transaction() as tx:
        assert (
            await usage.try_reserve_pair(tx, MEMBER, POOL, 0, member_limit=0, pool_limit=0) is None
        )
        counted = await tx.fetch_value("SELECT COUNT(*) FROM quota_usage")
    assert counted == 2


@pytest.mark.parametrize(
    ("member", "pool"),
    [
        (POOL, POOL),  # the pool is not a member
        (UsageKey(guild_id=1, user_id=0, period_start=0.0), POOL),  # user 0 is the pool's row
        (MEMBER, MEMBER),  # the second key must be the pool
        (MEMBER, UsageKey(guild_id=2, user_id=None, period_start=0.0)),  # another guild
        (MEMBER, UsageKey(guild_id=1, user_id=None, period_start=1.0)),  # another period
    ],
)
async def test_a_pair_is_a_member_and_its_own_pool(
    db: Database, member: UsageKey, pool: UsageKey
) -> None:
    async with db.transaction() as tx:
        with pytest.raises(ValueError, match="own guild pool"):
            await usage.try_reserve_pair(tx, member, pool, 1, member_limit=None, pool_limit=None)


async def test_settling_many_keys_releases_each_total(db: Database) -> None:
    other = UsageKey(guild_id=1, user_id=11, period_start=0.0)
    async with db.transaction() as tx:
        await usage.try_reserve(tx, MEMBER, 1_000, None)
        await usage.try_reserve(tx, other, 500, None)
        await usage.settle_many(tx, {MEMBER: (700, 2), other: (500, 1)}, charged=True)
        assert await usage.get(tx, MEMBER) == Usage(reserved=300, used=700, committed=700, jobs=2)
        assert await usage.get(tx, other) == Usage(used=500, committed=500, jobs=1)
        await usage.settle_many(tx, {MEMBER: (300, 1)}, charged=False)
        assert await usage.get(tx, MEMBER) == Usage(used=700, committed=700, jobs=2)


async def test_settling_a_key_without_a_row_is_an_error(db: Database) -> None:
    async def settle_with_the_pool_row_missing() -> None:
        async with db.transaction() as tx:
            await usage.try_reserve(tx, MEMBER, 100, None)
            await usage.settle_many(tx, {MEMBER: (100, 1), POOL: (100, 1)}, charged=True)

    with pytest.raises(RuntimeError, match="usage row is missing"):
        await settle_with_the_pool_row_missing()
    async with db.transaction() as tx:
        assert await usage.get(tx, MEMBER) == Usage()  # the whole transaction rolled back
