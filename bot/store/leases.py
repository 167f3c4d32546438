"""Leases: named things one process at a time holds (its own jobs, ``bot/jobs/lease.py``).

``claim`` takes a lease that is free, renews one its holder already has, or replaces a holder
the caller found dead or silent (``replace``: that holder as last read, its ``renewed_at``
included, so a holder that renewed meanwhile keeps it), in one conditional upsert: two
processes claiming at once cannot both win (both engines serialise transactions, and the
upsert's condition is re-read under that lock). Whether a holder is silent long enough is the
caller's judgement by its own monotonic clock (``bot/jobs/lease.py``), never a comparison of
two machines' wall clocks: ``expires_at`` is for reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.database import Row, Transaction

_COLUMNS = "name, holder, acquired_at, renewed_at, expires_at"


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds the lease ``name``, since when, and until when."""

    name: str
    holder: str
    acquired_at: float
    renewed_at: float
    expires_at: float


def _lease(row: Row) -> Lease:
    return Lease(str(row[0]), str(row[1]), float(row[2]), float(row[3]), float(row[4]))


class LeaseRepository:
    """Reads and writes ``leases`` inside a caller's transaction."""

    async def claim(
        self,
        tx: Transaction,
        name: str,
        holder: str,
        *,
        now: float,
        duration: float,
        replace: Lease | None = None,
    ) -> Lease | None:
        """Take or renew ``name`` for ``holder`` until ``now + duration``; None if held by another.

        ``replace``: the lease as read from a holder found dead or silent, taken over only if
        it has not been renewed since.
        """
        row = await tx.fetch_one(
            f"INSERT INTO leases ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)"  # noqa: S608 (constant)
            " ON CONFLICT (name) DO UPDATE SET"
            " acquired_at = CASE WHEN leases.holder = excluded.holder"
            " THEN leases.acquired_at ELSE excluded.acquired_at END,"
            " holder = excluded.holder, renewed_at = excluded.renewed_at,"
            " expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder"
            " OR (leases.holder = ? AND leases.renewed_at = ?)"
            f" RETURNING {_COLUMNS}",
            (
                name,
                holder,
                now,
                now,
                now + duration,
                "" if replace is None else replace.holder,
                -1.0 if replace is None else replace.renewed_at,
            ),
        )
        return None if row is None else _lease(row)

    async def get(self, tx: Transaction, name: str) -> Lease | None:
        """The lease ``name`` as last written (expired or not), or None."""
        row = await tx.fetch_one(
            f"SELECT {_COLUMNS} FROM leases WHERE name = ?",  # noqa: S608 (constant)
            (name,),
        )
        return None if row is None else _lease(row)

    async def all(self, tx: Transaction) -> list[Lease]:
        """Every lease, by name (for ``check``)."""
        rows = await tx.fetch_all(f"SELECT {_COLUMNS} FROM leases ORDER BY name")  # noqa: S608
        return [_lease(row) for row in rows]

    async def release_read(self, tx: Transaction, lease: Lease) -> bool:
        """Delete ``lease`` if it is still as read (not renewed since); whether it was."""
        return bool(
            await tx.execute(
                "DELETE FROM leases WHERE name = ? AND holder = ? AND renewed_at = ?",
                (lease.name, lease.holder, lease.renewed_at),
            )
        )

    async def release(self, tx: Transaction, name: str, holder: str) -> bool:
        """Give ``name`` up if ``holder`` holds it; whether it did."""
        return bool(
            await tx.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))
        )
