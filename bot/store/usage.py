"""The usage summary: per guild, member and period, the balance the ledger adds up to.

Every change here happens in the transaction that appends the matching ledger entry, so the
summary always equals the sum of the ledger. Limits are checked inside the ``UPDATE`` itself
(``WHERE used + reserved + ? <= ?``) and the row count says whether it passed: two concurrent
spends can never both pass on a stale read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from bot.store.database import Transaction

GUILD_POOL = 0
"""The ``user_id`` of a guild pool's usage rows (Discord ids are never 0)."""


class UsageKey(BaseModel):
    """Whose usage in which period: ``user_id`` None is the guild pool."""

    model_config = ConfigDict(frozen=True)

    guild_id: int
    user_id: int | None
    period_start: float

    @property
    def params(self) -> tuple[int, int, float]:
        """The key as SQL parameters, in primary-key order."""
        return (
            self.guild_id,
            GUILD_POOL if self.user_id is None else self.user_id,
            self.period_start,
        )


class Usage(BaseModel):
    """One period's totals in millicredits; ``bonus`` is what grants and adjustments added."""

    model_config = ConfigDict(frozen=True)

    reserved: int = 0
    used: int = 0
    bonus: int = 0
    committed: int = 0
    """Charged in the period; unlike ``used``, a reset does not clear it."""
    jobs: int = 0
    """Jobs committed in the period."""

    def remaining(self, limit: int | None) -> int | None:
        """What is left under ``limit`` (never below zero), or None when unlimited."""
        if limit is None:
            return None
        return max(0, limit + self.bonus - self.used - self.reserved)


_KEY = "guild_id = ? AND user_id = ? AND period_start = ?"


class UsageRepository:
    """Reads and changes usage rows inside a caller's transaction."""

    async def _update(
        self,
        tx: Transaction,
        key: UsageKey,
        assignments: str,
        values: tuple[int, ...],
        condition: str = "",
        condition_values: tuple[int, ...] = (),
    ) -> bool:
        # Only constant SQL fragments from this module are interpolated; values are parameters.
        sql = f"UPDATE quota_usage SET {assignments} WHERE {_KEY}{condition}"  # noqa: S608
        params = (*values, *key.params, *condition_values)
        changed = await tx.execute(sql, params)
        # No row yet is not a refusal: create the period's row once, then ask again. When the
        # row already existed, zero changed rows means the condition refused.
        if changed == 0 and await self._create(tx, [key]):
            changed = await tx.execute(sql, params)
        return changed == 1

    async def get(self, tx: Transaction, key: UsageKey) -> Usage:
        """The totals for a key (zeros when nothing happened yet)."""
        row = await tx.fetch_one(
            f"SELECT reserved, used, bonus, committed, jobs FROM quota_usage WHERE {_KEY}",  # noqa: S608
            key.params,
        )
        return Usage() if row is None else Usage.model_validate(dict(row))

    async def try_reserve(
        self, tx: Transaction, key: UsageKey, amount: int, limit: int | None
    ) -> bool:
        """Hold ``amount`` on one row if it fits under ``limit`` (None: always); whether it did."""
        limits = {key: limit}
        if await self._reserve_rows(tx, limits, amount):
            return True
        # No row yet is not a refusal: create the period's row once, then ask again.
        return await self._create(tx, [key]) and bool(await self._reserve_rows(tx, limits, amount))

    async def try_reserve_pair(
        self,
        tx: Transaction,
        member: UsageKey,
        pool: UsageKey,
        amount: int,
        *,
        member_limit: int | None,
        pool_limit: int | None,
    ) -> UsageKey | None:
        """Hold ``amount`` on a member's row and its pool's row, both or neither.

        The key that refused (the member's first), or None when both held it.
        """
        if (
            member.user_id in (None, GUILD_POOL)
            or pool.user_id is not None
            or (member.guild_id, member.period_start) != (pool.guild_id, pool.period_start)
        ):
            raise ValueError("a member's and its own guild pool's keys, in one period")
        limits = {member: member_limit, pool: pool_limit}
        held = await self._reserve_rows(tx, limits, amount)
        missing = {key: limit for key, limit in limits.items() if key not in held}
        # No row yet is not a refusal: create the period's rows once, then ask those again.
        if missing and await self._create(tx, list(missing)):
            held += await self._reserve_rows(tx, missing, amount)
        if len(held) == 2:
            return None
        await self._release(tx, held, amount)
        return member if member not in held else pool

    async def _reserve_rows(
        self, tx: Transaction, limits: Mapping[UsageKey, int | None], amount: int
    ) -> list[UsageKey]:
        # One conditional UPDATE for the rows of one guild and period, each under its own limit.
        first = next(iter(limits))
        conditions: list[str] = []
        values: list[int] = []
        for key, limit in limits.items():
            if limit is None or amount == 0:
                conditions.append("user_id = ?")
                values.append(key.params[1])
            else:
                conditions.append("(user_id = ? AND used + reserved + ? <= ? + bonus)")
                values.extend((key.params[1], amount, limit))
        rows = await tx.fetch_all(
            "UPDATE quota_usage SET reserved = reserved + ?"  # noqa: S608 (constant fragments)
            f" WHERE guild_id = ? AND period_start = ? AND ({' OR '.join(conditions)})"
            " RETURNING user_id",
            (amount, first.guild_id, first.period_start, *values),
        )
        held = {row[0] for row in rows}
        return [key for key in limits if key.params[1] in held]

    async def _create(self, tx: Transaction, keys: Sequence[UsageKey]) -> bool:
        created = await tx.execute(
            "INSERT INTO quota_usage (guild_id, user_id, period_start)"  # noqa: S608 (only ? marks)
            f" VALUES {', '.join('(?, ?, ?)' for _ in keys)}"
            " ON CONFLICT (guild_id, user_id, period_start) DO NOTHING",
            tuple(value for key in keys for value in key.params),
        )
        return created > 0

    async def _release(self, tx: Transaction, keys: Sequence[UsageKey], amount: int) -> None:
        if keys:
            await self.settle_many(tx, {key: (amount, 1) for key in keys}, charged=False)

    async def settle_many(
        self, tx: Transaction, held: Mapping[UsageKey, tuple[int, int]], *, charged: bool
    ) -> None:
        """Release what each key holds (amount, jobs): charged (commit) moves it to used.

        The rows exist: reserving created them.
        """
        if not held:
            return
        if charged:
            changed = await tx.execute_many(
                "UPDATE quota_usage SET reserved = reserved - ?, used = used + ?,"  # noqa: S608
                f" committed = committed + ?, jobs = jobs + ? WHERE {_KEY}",
                [
                    (amount, amount, amount, jobs, *key.params)
                    for key, (amount, jobs) in held.items()
                ],
            )
        else:
            changed = await tx.execute_many(
                f"UPDATE quota_usage SET reserved = reserved - ? WHERE {_KEY}",  # noqa: S608
                [(amount, *key.params) for key, (amount, _) in held.items()],
            )
        if changed != len(held):
            raise RuntimeError("a reservation's usage row is missing")

    async def try_add_bonus(
        self, tx: Transaction, key: UsageKey, amount: int, limit: int | None
    ) -> bool:
        """Add ``amount`` (maybe negative) to the bonus unless that leaves less than nothing."""
        if limit is None or amount >= 0:
            return await self._update(tx, key, "bonus = bonus + ?", (amount,))
        return await self._update(
            tx,
            key,
            "bonus = bonus + ?",
            (amount,),
            " AND used + reserved <= ? + bonus + ?",
            (limit, amount),
        )

    async def settle(self, tx: Transaction, key: UsageKey, amount: int, *, charged: bool) -> None:
        """Release one job's held ``amount``: charged (commit) moves it to used, else frees it."""
        await self.settle_many(tx, {key: (amount, 1)}, charged=charged)

    async def clear_used(self, tx: Transaction, key: UsageKey) -> int:
        """Set the period's usage back to zero; the (negative) change made."""
        before = await self.get(tx, key)
        await self._update(tx, key, "used = 0", ())
        return -before.used

    async def lifetime(self, tx: Transaction, *, guild_id: int, user_id: int) -> tuple[int, int]:
        """A member's committed millicredits and committed jobs over every period."""
        row = await tx.fetch_one(
            "SELECT COALESCE(SUM(committed), 0), COALESCE(SUM(jobs), 0) FROM quota_usage"
            " WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return (0, 0) if row is None else (int(row[0]), int(row[1]))
