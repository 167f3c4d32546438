from bot.store.database import Database
from bot.store.leases import Lease, LeaseRepository

leases = LeaseRepository()


async def claim(db: Database, holder: str, now: float, replace: str | None = None) -> Lease | None:
    async with db.transaction() as tx:
        return await leases.claim(tx, "dispatch", holder, now=now, duration=30.0, replace=replace)


async def test_a_free_lease_is_taken_and_renewed_by_its_holder_only(db: Database) -> None:
    assert await claim(db, "a", 100.0) == Lease("dispatch", "a", 100.0, 100.0, 130.0)
    assert await claim(db, "b", 110.0) is None
    assert await claim(db, "a", 120.0) == Lease("dispatch", "a", 100.0, 120.0, 150.0)
    async with db.transaction() as tx:
        assert await leases.get(tx, "dispatch") == Lease("dispatch", "a", 100.0, 120.0, 150.0)


async def test_an_expired_lease_passes_to_the_next_claimant_once(db: Database) -> None:
    await claim(db, "a", 100.0)
    assert await claim(db, "b", 130.0) == Lease("dispatch", "b", 130.0, 130.0, 160.0)
    assert await claim(db, "c", 131.0) is None
    assert await claim(db, "a", 132.0) is None  # the old holder cannot renew it back


async def test_a_holder_known_dead_is_replaced_before_expiry(db: Database) -> None:
    await claim(db, "a", 100.0)
    assert await claim(db, "b", 101.0, replace="someone else") is None
    taken = await claim(db, "b", 101.0, replace="a")
    assert taken == Lease("dispatch", "b", 101.0, 101.0, 131.0)


async def test_release_frees_the_lease_for_its_holder_only(db: Database) -> None:
    await claim(db, "a", 100.0)
    async with db.transaction() as tx:
        assert not await leases.release(tx, "dispatch", "b")
        assert await leases.release(tx, "dispatch", "a")
        assert await leases.all(tx) == []
    assert await claim(db, "b", 101.0) is not None
