from bot.store.database import Database
from bot.store.leases import Lease, LeaseRepository

leases = LeaseRepository()


async def claim(
    db: Database, holder: str, now: float, replace: Lease | None = None
) -> Lease | None:
    async with db.transaction() as tx:
        return await leases.claim(tx, "dispatch", holder, now=now, duration=30.0, replace=replace)


async def test_a_free_lease_is_taken_and_renewed_by_its_holder_only(db: Database) -> None:
    assert await claim(db, "a", 100.0) == Lease("dispatch", "a", 100.0, 100.0, 130.0)
    assert await claim(db, "b", 110.0) is None
    assert await claim(db, "a", 120.0) == Lease("dispatch", "a", 100.0, 120.0, 150.0)
    async with db.transaction() as tx:
        assert await leases.get(tx, "dispatch") == Lease("dispatch", "a", 100.0, 120.0, 150.0)


async def test_no_wall_clock_hands_a_lease_over(db: Database) -> None:
    await claim(db, "a", 100.0)
    assert await claim(db, "b", 10_000.0) is None  # long expired by b's clock: still a's


async def test_a_holder_found_gone_is_replaced_unless_it_renewed_meanwhile(db: Database) -> None:
    read = await claim(db, "a", 100.0)
    assert read is not None
    assert await claim(db, "b", 101.0, replace=Lease("dispatch", "c", 0.0, 100.0, 130.0)) is None
    renewed = await claim(db, "a", 102.0)  # a renews after b read it
    assert renewed is not None
    assert await claim(db, "b", 103.0, replace=read) is None
    taken = await claim(db, "b", 104.0, replace=renewed)
    assert taken == Lease("dispatch", "b", 104.0, 104.0, 134.0)
    assert await claim(db, "a", 105.0) is None  # the old holder cannot renew it back


async def test_release_frees_the_lease_for_its_holder_only(db: Database) -> None:
    await claim(db, "a", 100.0)
    async with db.transaction() as tx:
        assert not await leases.release(tx, "dispatch", "b")
        assert await leases.release(tx, "dispatch", "a")
        assert await leases.all(tx) == []
    assert await claim(db, "b", 101.0) is not None
