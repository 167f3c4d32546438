"""Budgets set by moderators: a guild's period and the limits per pool, default, role, member."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bot.store.database import Transaction

NO_SUBJECT = 0
"""The ``subject_id`` of the guild pool and the guild default (they name no role or member)."""


class BudgetPeriod(StrEnum):
    """How often budgets refill."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class BudgetScope(StrEnum):
    """What a limit applies to."""

    GUILD = "guild"
    DEFAULT = "default"
    ROLE = "role"
    MEMBER = "member"


class BudgetLimit(BaseModel):
    """A moderator's limit in millicredits per period; ``amount`` None is unlimited."""

    model_config = ConfigDict(frozen=True)

    scope: BudgetScope
    subject_id: int
    amount: int | None
    actor_id: int | None
    reason: str
    updated_at: float


class GuildPeriod(BaseModel):
    """A guild's own period and reset hour; None where the settings' default applies."""

    model_config = ConfigDict(frozen=True)

    period: BudgetPeriod | None = None
    reset_hour: int | None = None


class BudgetRepository:
    """Reads and writes budgets inside a caller's transaction."""

    async def period(self, tx: Transaction, guild_id: int) -> GuildPeriod:
        """The guild's own period choices."""
        row = await tx.fetch_one(
            "SELECT period, reset_hour FROM guild_budgets WHERE guild_id = ?", (guild_id,)
        )
        return GuildPeriod() if row is None else GuildPeriod.model_validate(dict(row))

    async def period_and_limits(
        self, tx: Transaction, guild_id: int
    ) -> tuple[GuildPeriod, list[BudgetLimit]]:
        """The guild's period choices and every limit set in it, in one query."""
        # The one-row derived table keeps a row when the guild has neither a period nor limits.
        rows = await tx.fetch_all(
            "SELECT b.period, b.reset_hour, l.scope, l.subject_id, l.amount, l.actor_id,"
            " l.reason, l.updated_at"
            " FROM (SELECT CAST(? AS BIGINT) AS guild_id) AS g"
            " LEFT JOIN guild_budgets AS b ON b.guild_id = g.guild_id"
            " LEFT JOIN budget_limits AS l ON l.guild_id = g.guild_id"
            " ORDER BY l.scope, l.subject_id",
            (guild_id,),
        )
        first = rows[0]
        choice = GuildPeriod(
            period=None if first["period"] is None else BudgetPeriod(first["period"]),
            reset_hour=first["reset_hour"],
        )
        limits = [
            BudgetLimit(
                scope=BudgetScope(row["scope"]),
                subject_id=row["subject_id"],
                amount=row["amount"],
                actor_id=row["actor_id"],
                reason=row["reason"],
                updated_at=row["updated_at"],
            )
            for row in rows
            if row["scope"] is not None
        ]
        return choice, limits

    async def set_period(
        self, tx: Transaction, guild_id: int, choice: GuildPeriod, *, now: float
    ) -> None:
        """Replace the guild's period choices."""
        await tx.execute(
            "INSERT INTO guild_budgets (guild_id, period, reset_hour, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET"
            " period = excluded.period, reset_hour = excluded.reset_hour,"
            " updated_at = excluded.updated_at",
            (
                guild_id,
                None if choice.period is None else choice.period.value,
                choice.reset_hour,
                now,
            ),
        )

    async def limits(self, tx: Transaction, guild_id: int) -> list[BudgetLimit]:
        """Every limit a moderator set in the guild."""
        rows = await tx.fetch_all(
            "SELECT scope, subject_id, amount, actor_id, reason, updated_at FROM budget_limits"
            " WHERE guild_id = ? ORDER BY scope, subject_id",
            (guild_id,),
        )
        return [BudgetLimit.model_validate(dict(row)) for row in rows]

    async def set_limit(
        self,
        tx: Transaction,
        guild_id: int,
        scope: BudgetScope,
        subject_id: int,
        amount: int | None,
        *,
        actor_id: int | None,
        reason: str,
        now: float,
    ) -> None:
        """Set one limit (``amount`` None: unlimited)."""
        if amount is not None and amount < 0:
            raise ValueError("a budget cannot be negative")
        await tx.execute(
            "INSERT INTO budget_limits"
            " (guild_id, scope, subject_id, amount, actor_id, reason, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, scope, subject_id) DO UPDATE"
            " SET amount = excluded.amount, actor_id = excluded.actor_id,"
            " reason = excluded.reason, updated_at = excluded.updated_at",
            (guild_id, scope.value, subject_id, amount, actor_id, reason, now),
        )

    async def remove_limit(
        self, tx: Transaction, guild_id: int, scope: BudgetScope, subject_id: int
    ) -> bool:
        """Drop one limit so the next level applies; whether there was one."""
        removed = await tx.execute(
            "DELETE FROM budget_limits WHERE guild_id = ? AND scope = ? AND subject_id = ?",
            (guild_id, scope.value, subject_id),
        )
        return removed == 1
