"""Ledger roll-up in the store: a member's per-job entries of a period become one row.

Per-job entries are reserve, commit and refund; in a period with no held reservation each
job has a reserve and exactly one commit or refund of the same amount, so they add up to
what was charged. ``roll_up`` replaces them with one ``rollup`` row per member that carries
that total and the job counts, keeping the id (so the row's place on a page) and the time of
the member's last entry in the period. A roll-up row already there (entries settled after an
earlier pass) is folded into the new one: one row per member and period, however many passes.
Grants, resets and adjustments are never touched.

Every query reads a partial index (``quota_ledger_per_job``, ``quota_ledger_rollups``,
``quota_reservations_held``): its condition is repeated word for word below, because SQLite
uses a partial index only when the query states the same condition literally.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.store.database import Transaction, marks
from bot.store.ledger import INSERT_COLUMNS, LedgerKind, NewLedgerEntry

log = logging.getLogger(__name__)

_PER_JOB = "kind IN ('reserve', 'commit', 'refund')"
_ROLLUP = "kind = 'rollup'"
_HELD = "state = 'reserved'"
_PERIOD = "guild_id = ? AND period_start = ?"


@dataclass(frozen=True, slots=True)
class PeriodKey:
    """One guild's budget period."""

    guild_id: int
    period_start: float


@dataclass(slots=True)
class _Member:
    last_id: int = 0
    last_at: float = 0.0
    reserved: int = 0
    charged: int = 0
    refunded: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    folded: tuple[int, int, int] = (0, 0, 0)
    """An earlier roll-up row's (amount, charged jobs, refunded jobs)."""

    def add(self, kind: str, count: int, amount: int, last_id: int, last_at: float) -> None:
        self.counts[kind] = count
        if kind == LedgerKind.RESERVE:
            self.reserved = amount
        elif kind == LedgerKind.COMMIT:
            self.charged = amount
        else:
            self.refunded = amount
        self.last_id = max(self.last_id, last_id)
        self.last_at = max(self.last_at, last_at)

    @property
    def settled(self) -> bool:
        """Every reserve has its one commit or refund, so the entries net to the charge."""
        reserves = self.counts.get(LedgerKind.RESERVE, 0)
        settlements = self.counts.get(LedgerKind.COMMIT, 0) + self.counts.get(LedgerKind.REFUND, 0)
        return reserves == settlements and self.reserved == self.charged + self.refunded


def rollup_reason(charged: int, refunded: int) -> str:
    """What a roll-up row says: ``42 jobs: 40 charged, 2 refunded``."""
    total = charged + refunded
    return f"{total} job{'' if total == 1 else 's'}: {charged} charged, {refunded} refunded"


class RollupRepository:
    """Finds periods with per-job entries and rolls members up, inside a caller's transaction."""

    async def next_period(self, tx: Transaction, after: PeriodKey | None) -> PeriodKey | None:
        """The first period with per-job entries after ``after``, in (guild, start) order.

        ``after`` with an infinite start skips the rest of its guild.
        """
        if after is None:
            row = await tx.fetch_one(
                f"SELECT guild_id, period_start FROM quota_ledger WHERE {_PER_JOB}"  # noqa: S608
                " ORDER BY guild_id, period_start LIMIT 1"
            )
        else:
            row = await tx.fetch_one(
                f"SELECT guild_id, period_start FROM quota_ledger WHERE {_PER_JOB}"  # noqa: S608
                " AND (guild_id, period_start) > (?, ?) ORDER BY guild_id, period_start LIMIT 1",
                (after.guild_id, after.period_start),
            )
        return None if row is None else PeriodKey(int(row[0]), float(row[1]))

    async def held(self, tx: Transaction, key: PeriodKey) -> bool:
        """Whether a reservation of the period is still unsettled."""
        row = await tx.fetch_one(
            f"SELECT 1 FROM quota_reservations WHERE {_HELD} AND {_PERIOD} LIMIT 1",  # noqa: S608
            (key.guild_id, key.period_start),
        )
        return row is not None

    async def members(
        self, tx: Transaction, key: PeriodKey, *, after: int, limit: int
    ) -> list[int]:
        """Members with per-job entries in the period, by id after ``after``, at most ``limit``."""
        rows = await tx.fetch_all(
            f"SELECT DISTINCT user_id FROM quota_ledger WHERE {_PER_JOB} AND {_PERIOD}"  # noqa: S608
            " AND user_id > ? ORDER BY user_id LIMIT ?",
            (key.guild_id, key.period_start, after, limit),
        )
        return [int(row[0]) for row in rows]

    async def count(self, tx: Transaction, key: PeriodKey) -> tuple[int, int]:
        """The period's per-job entries and the members they belong to."""
        row = await tx.fetch_one(
            f"SELECT COUNT(*), COUNT(DISTINCT user_id) FROM quota_ledger"  # noqa: S608
            f" WHERE {_PER_JOB} AND {_PERIOD}",
            (key.guild_id, key.period_start),
        )
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    async def roll_up(self, tx: Transaction, key: PeriodKey, user_ids: Sequence[int]) -> int:
        """Replace these members' per-job entries of a settled period; entries removed.

        The caller checked that no reservation of the period is held. A member whose entries
        do not net out (a reserve without its settlement) is left as it is, and logged.
        """
        if not user_ids:
            return 0
        members = await self._totals(tx, key, user_ids)
        done = {user_id: member for user_id, member in members.items() if member.settled}
        for user_id in members.keys() - done.keys():
            log.warning("ledger of member %s in %s does not net out; not rolled up", user_id, key)
        if not done:
            return 0
        users = list(done)
        where = f"{_PERIOD} AND user_id IN ({marks(len(users))})"
        params = (key.guild_id, key.period_start, *users)
        removed = await tx.execute(f"DELETE FROM quota_ledger WHERE {_PER_JOB} AND {where}", params)  # noqa: S608
        await tx.execute(f"DELETE FROM quota_ledger WHERE {_ROLLUP} AND {where}", params)  # noqa: S608
        rows = [self._row(key, user_id, member) for user_id, member in done.items()]
        await tx.execute_many(
            f"INSERT INTO quota_ledger (id, {INSERT_COLUMNS})"  # noqa: S608 (constant columns)
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return removed

    async def _totals(
        self, tx: Transaction, key: PeriodKey, user_ids: Sequence[int]
    ) -> dict[int, _Member]:
        where = f"{_PERIOD} AND user_id IN ({marks(len(user_ids))})"
        params = (key.guild_id, key.period_start, *user_ids)
        members: dict[int, _Member] = {}
        for row in await tx.fetch_all(
            "SELECT user_id, kind, COUNT(*), SUM(amount), MAX(id), MAX(created_at)"  # noqa: S608
            f" FROM quota_ledger WHERE {_PER_JOB} AND {where} GROUP BY user_id, kind",
            params,
        ):
            member = members.setdefault(int(row[0]), _Member())
            member.add(str(row[1]), int(row[2]), int(row[3]), int(row[4]), float(row[5]))
        for row in await tx.fetch_all(
            "SELECT user_id, id, created_at, amount, jobs_charged, jobs_refunded"  # noqa: S608
            f" FROM quota_ledger WHERE {_ROLLUP} AND {where}",
            params,
        ):
            earlier = members.get(int(row[0]))
            if earlier is not None:
                earlier.last_id = max(earlier.last_id, int(row[1]))
                earlier.last_at = max(earlier.last_at, float(row[2]))
                earlier.folded = (int(row[3]), int(row[4]), int(row[5]))
        return members

    @staticmethod
    def _row(key: PeriodKey, user_id: int, member: _Member) -> tuple[object, ...]:
        amount, charged, refunded = member.folded
        charged += member.counts.get(LedgerKind.COMMIT, 0)
        refunded += member.counts.get(LedgerKind.REFUND, 0)
        entry = NewLedgerEntry(
            guild_id=key.guild_id,
            user_id=user_id,
            job_id=None,
            kind=LedgerKind.ROLLUP,
            amount=amount + member.charged,
            actor_id=None,
            reason=rollup_reason(charged, refunded),
            created_at=member.last_at,
            period_start=key.period_start,
            jobs_charged=charged,
            jobs_refunded=refunded,
        )
        return (member.last_id, *entry.values)
