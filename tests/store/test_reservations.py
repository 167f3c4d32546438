from bot.store.database import Database
from bot.store.reservations import ReservationRepository, ReservationState

reservations = ReservationRepository()


async def test_a_reservation_settles_once(db: Database) -> None:
    async with db.transaction() as tx:
        assert await reservations.get(tx, 3) is None
        await reservations.create(
            tx, job_id=3, guild_id=1, user_id=10, amount=500, period_start=0.0, created_at=1.0
        )
        held = await reservations.get(tx, 3)
        assert held is not None
        assert (held.state, held.amount, held.settled_at) == (ReservationState.RESERVED, 500, None)
        assert await reservations.settle(tx, 3, ReservationState.REFUNDED, 2.0)
        assert not await reservations.settle(tx, 3, ReservationState.COMMITTED, 3.0)
        settled = await reservations.get(tx, 3)
        assert settled is not None
        assert (settled.state, settled.settled_at) == (ReservationState.REFUNDED, 2.0)


async def test_many_reservations_are_made_settled_and_discarded_together(db: Database) -> None:
    async with db.transaction() as tx:
        assert await reservations.create_many(
            tx,
            guild_id=1,
            user_id=10,
            amounts={5: 100, 6: 0, 7: 300},
            period_start=0.0,
            created_at=1.0,
        )
        assert not await reservations.create_many(
            tx, guild_id=1, user_id=10, amounts={7: 1, 8: 1}, period_start=0.0, created_at=1.0
        )
        assert [r.job_id for r in await reservations.get_many(tx, [8, 7, 5, 6, 99])] == [5, 6, 7, 8]
        assert await reservations.settle(tx, 6, ReservationState.REFUNDED, 2.0)
        moved = await reservations.settle_many(tx, [7, 6, 5], ReservationState.COMMITTED, 3.0)
        assert [(r.job_id, r.amount, r.state, r.settled_at) for r in moved] == [
            (5, 100, ReservationState.COMMITTED, 3.0),
            (7, 300, ReservationState.COMMITTED, 3.0),
        ]
        assert await reservations.settle_many(tx, [], ReservationState.COMMITTED, 4.0) == []
        await reservations.discard_many(tx, [5, 6, 8])  # only a still-held one goes
        left = await reservations.get_many(tx, [5, 6, 7, 8])
    assert [(r.job_id, r.state) for r in left] == [
        (5, ReservationState.COMMITTED),
        (6, ReservationState.REFUNDED),
        (7, ReservationState.COMMITTED),
    ]
