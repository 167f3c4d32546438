"""The quota ledger: an append-only record of every credit movement, who made it and why.

The one exception is the roll-up of closed periods (``bot.store.rollup``): a member's
per-job entries of a settled period are replaced by one row with the same sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bot.store.database import Row, Transaction, marks


class LedgerKind(StrEnum):
    """What a ledger entry did to a balance."""

    RESERVE = "reserve"
    COMMIT = "commit"
    REFUND = "refund"
    GRANT = "grant"
    RESET = "reset"
    ADJUST = "adjust"
    ROLLUP = "rollup"
    """A member's settled jobs of a closed period in one row: ``amount`` is what was charged."""


class NewLedgerEntry(BaseModel):
    """An entry to append; ``user_id`` None is the guild pool, ``job_id`` None no job."""

    model_config = ConfigDict(frozen=True)

    guild_id: int
    user_id: int | None
    job_id: int | None
    kind: LedgerKind
    amount: int
    """Millicredits; for a reset, the (negative) change to the period's usage."""
    actor_id: int | None
    reason: str
    created_at: float
    period_start: float
    jobs_charged: int = 0
    """A roll-up's charged jobs (0 on other kinds)."""
    jobs_refunded: int = 0
    """A roll-up's refunded jobs (0 on other kinds)."""

    @property
    def values(self) -> tuple[object, ...]:
        """The entry as the insert's parameters."""
        return (
            self.guild_id,
            self.user_id,
            self.job_id,
            self.kind.value,
            self.amount,
            self.actor_id,
            self.reason,
            self.created_at,
            self.period_start,
            self.jobs_charged,
            self.jobs_refunded,
        )


class LedgerEntry(NewLedgerEntry):
    """One movement of credits, as written."""

    id: int

    @property
    def created(self) -> datetime:
        """When the entry was written, timezone-aware."""
        return datetime.fromtimestamp(self.created_at, tz=UTC)


INSERT_COLUMNS = (
    "guild_id, user_id, job_id, kind, amount, actor_id, reason, created_at, period_start,"
    " jobs_charged, jobs_refunded"
)
_COLUMNS = f"id, {INSERT_COLUMNS}"
_INSERT = f"INSERT INTO quota_ledger ({INSERT_COLUMNS}) VALUES ({marks(11)})"  # noqa: S608


def _entry(row: Row) -> LedgerEntry:
    return LedgerEntry.model_validate(dict(row))


class LedgerRepository:
    """Appends to and reads the ledger inside a caller's transaction."""

    async def append(
        self,
        tx: Transaction,
        *,
        guild_id: int,
        user_id: int | None,
        job_id: int | None,
        kind: LedgerKind,
        amount: int,
        actor_id: int | None,
        reason: str,
        created_at: float,
        period_start: float,
    ) -> LedgerEntry:
        """Write one entry and return it."""
        new = NewLedgerEntry(
            guild_id=guild_id,
            user_id=user_id,
            job_id=job_id,
            kind=kind,
            amount=amount,
            actor_id=actor_id,
            reason=reason,
            created_at=created_at,
            period_start=period_start,
        )
        entry_id = await tx.insert(_INSERT, new.values)
        return LedgerEntry(id=entry_id, **new.model_dump())

    async def append_many(self, tx: Transaction, entries: Sequence[NewLedgerEntry]) -> None:
        """Write several entries in one trip."""
        await tx.execute_many(_INSERT, [entry.values for entry in entries])

    async def page(
        self,
        tx: Transaction,
        *,
        guild_id: int,
        user_id: int | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[LedgerEntry]:
        """Newest first: the guild's entries, or one member's when ``user_id`` is given."""
        if user_id is None:
            rows = await tx.fetch_all(
                f"SELECT {_COLUMNS} FROM quota_ledger WHERE guild_id = ?"  # noqa: S608
                " ORDER BY id DESC LIMIT ? OFFSET ?",
                (guild_id, limit, offset),
            )
        else:
            rows = await tx.fetch_all(
                f"SELECT {_COLUMNS} FROM quota_ledger WHERE guild_id = ? AND user_id = ?"  # noqa: S608
                " ORDER BY id DESC LIMIT ? OFFSET ?",
                (guild_id, user_id, limit, offset),
            )
        return [_entry(row) for row in rows]

    async def for_job(self, tx: Transaction, job_id: int) -> list[LedgerEntry]:
        """Every entry about one job, oldest first."""
        rows = await tx.fetch_all(
            f"SELECT {_COLUMNS} FROM quota_ledger WHERE job_id = ? ORDER BY id",  # noqa: S608
            (job_id,),
        )
        return [_entry(row) for row in rows]
