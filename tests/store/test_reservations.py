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
