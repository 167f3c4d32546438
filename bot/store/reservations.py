"""Quota reservations: one per job, settled (committed or refunded) exactly once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bot.store.database import Transaction, marks


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


_COLUMNS = "job_id, guild_id, user_id, amount, period_start, state, created_at, settled_at"


class ReservationRepository:
    """Creates and settles reservations inside a caller's transaction."""

    async def create_many(
        self,
        tx: Transaction,
        *,
        guild_id: int,
        user_id: int,
        amounts: Mapping[int, int],
        period_start: float,
        created_at: float,
    ) -> bool:
        """Record a reservation for each job (id: amount); False when any job already had one."""
        created = await tx.execute_many(
            "INSERT INTO quota_reservations"
            " (job_id, guild_id, user_id, amount, period_start, state, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING",
            [
                (
                    job_id,
                    guild_id,
                    user_id,
                    amount,
                    period_start,
                    ReservationState.RESERVED.value,
                    created_at,
                )
                for job_id, amount in amounts.items()
            ],
        )
        return created == len(amounts)

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
        return await self.create_many(
            tx,
            guild_id=guild_id,
            user_id=user_id,
            amounts={job_id: amount},
            period_start=period_start,
            created_at=created_at,
        )

    async def discard(self, tx: Transaction, job_id: int) -> None:
        """Forget a reservation made earlier in the same transaction (its quota was refused)."""
        await self.discard_many(tx, [job_id])

    async def discard_many(self, tx: Transaction, job_ids: Sequence[int]) -> None:
        """``discard`` for several jobs."""
        await tx.execute(
            "DELETE FROM quota_reservations WHERE state = ?"  # noqa: S608 (only ? marks)
            f" AND job_id IN ({marks(len(job_ids))})",
            (ReservationState.RESERVED.value, *job_ids),
        )

    async def get(self, tx: Transaction, job_id: int) -> Reservation | None:
        """A job's reservation, or None when the job never reserved anything."""
        found = await self.get_many(tx, [job_id])
        return found[0] if found else None

    async def get_many(self, tx: Transaction, job_ids: Sequence[int]) -> list[Reservation]:
        """These jobs' reservations, in job order (jobs without one are skipped)."""
        if not job_ids:
            return []
        rows = await tx.fetch_all(
            f"SELECT {_COLUMNS} FROM quota_reservations"  # noqa: S608 (only ? marks)
            f" WHERE job_id IN ({marks(len(job_ids))}) ORDER BY job_id",
            tuple(job_ids),
        )
        return [Reservation.model_validate(dict(row)) for row in rows]

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

    async def settle_many(
        self, tx: Transaction, job_ids: Sequence[int], state: ReservationState, settled_at: float
    ) -> list[Reservation]:
        """Move the held reservations among these jobs to ``state``; those that moved."""
        if not job_ids:
            return []
        rows = await tx.fetch_all(
            "UPDATE quota_reservations SET state = ?, settled_at = ?"  # noqa: S608 (only ? marks)
            f" WHERE state = ? AND job_id IN ({marks(len(job_ids))}) RETURNING {_COLUMNS}",
            (state.value, settled_at, ReservationState.RESERVED.value, *job_ids),
        )
        return sorted(
            (Reservation.model_validate(dict(row)) for row in rows), key=lambda r: r.job_id
        )
