"""Quota reservations: one per job, settled (committed or refunded) exactly once."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bot.store.database import Transaction


class ReservationState(StrEnum):
    """Where a job's reservation stands."""

    RESERVED = "reserved"
    COMMITTED = "committed"
    REFUNDED = "refunded"


class Reservation(BaseModel):
    """Credits held for one job in the period it was reserved in."""

    model_config = ConfigDict(frozen=True)

    job_id: int
    guild_id: int
    user_id: int
    amount: int
    period_start: float
    state: ReservationState
    created_at: float
    settled_at: float | None


class ReservationRepository:
    """Creates and settles reservations inside a caller's transaction."""

    async def create(
        self,
        tx: Transaction,
        *,
        job_id: int,
        guild_id: int,
        user_id: int,
        amount: int,
        period_start: float,
        created_at: float,
    ) -> bool:
        """Record a new reservation for a job; False when the job already has one."""
        created = await tx.execute(
            "INSERT INTO quota_reservations"
            " (job_id, guild_id, user_id, amount, period_start, state, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING",
            (
                job_id,
                guild_id,
                user_id,
                amount,
                period_start,
                ReservationState.RESERVED.value,
                created_at,
            ),
        )
        return created == 1

    async def discard(self, tx: Transaction, job_id: int) -> None:
        """Forget a reservation made earlier in the same transaction (its quota was refused)."""
        await tx.execute(
            "DELETE FROM quota_reservations WHERE job_id = ? AND state = ?",
            (job_id, ReservationState.RESERVED.value),
        )

    async def get(self, tx: Transaction, job_id: int) -> Reservation | None:
        """A job's reservation, or None when the job never reserved anything."""
        row = await tx.fetch_one(
            "SELECT job_id, guild_id, user_id, amount, period_start, state, created_at,"
            " settled_at FROM quota_reservations WHERE job_id = ?",
            (job_id,),
        )
        return None if row is None else Reservation.model_validate(dict(row))

    async def settle(
        self, tx: Transaction, job_id: int, state: ReservationState, settled_at: float
    ) -> bool:
        """Move a held reservation to ``state``; False when it was already settled."""
        changed = await tx.execute(
            "UPDATE quota_reservations SET state = ?, settled_at = ?"
            " WHERE job_id = ? AND state = ?",
            (state.value, settled_at, job_id, ReservationState.RESERVED.value),
        )
        return changed == 1
