"""Moderators' controls: budgets per pool, default, role and member; grants, resets, adjustments."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.errors import UserFacingError
from bot.quota.core import QuotaCore
from bot.quota.costs import format_credits
from bot.store.budgets import NO_SUBJECT, BudgetPeriod, BudgetScope, GuildPeriod
from bot.store.database import Transaction
from bot.store.ledger import LedgerKind
from bot.store.usage import UsageKey

log = logging.getLogger(__name__)


class BudgetControls(QuotaCore):
    """Budget changes a moderator makes; each opens its own transaction and leaves a trace."""

    async def set_guild_budget(
        self,
        *,
        guild_id: int,
        amount: int | None,
        period: BudgetPeriod | None = None,
        reset_hour: int | None = None,
        actor_id: int,
        reason: str,
    ) -> None:
        """Set the guild pool per period (None: unlimited) and, if given, period and hour."""
        _check_budget(amount)
        if reset_hour is not None and not 0 <= reset_hour <= 23:
            raise UserFacingError("The reset hour is an hour of the day in UTC, from 0 to 23.")
        async with self._db.transaction() as tx:
            await self._set_limit(
                tx, guild_id, BudgetScope.GUILD, NO_SUBJECT, amount, actor_id, reason
            )
            if period is not None or reset_hour is not None:
                current = await self._budgets.period(tx, guild_id)
                choice = GuildPeriod(
                    period=period or current.period,
                    reset_hour=current.reset_hour if reset_hour is None else reset_hour,
                )
                await self._budgets.set_period(tx, guild_id, choice, now=self._clock())

    async def set_default_member_budget(
        self, *, guild_id: int, amount: int | None, actor_id: int, reason: str
    ) -> None:
        """Set every member's allowance per period (None: only the pool limits them)."""
        _check_budget(amount)
        async with self._db.transaction() as tx:
            await self._set_limit(
                tx, guild_id, BudgetScope.DEFAULT, NO_SUBJECT, amount, actor_id, reason
            )

    async def set_role_budget(
        self, *, guild_id: int, role_id: int, amount: int | None, actor_id: int, reason: str
    ) -> None:
        """Override the allowance for a role's members (None: remove the override)."""
        await self._set_override(guild_id, BudgetScope.ROLE, role_id, amount, actor_id, reason)

    async def set_member_budget(
        self, *, guild_id: int, user_id: int, amount: int | None, actor_id: int, reason: str
    ) -> None:
        """Override one member's allowance (None: remove the override)."""
        await self._set_override(guild_id, BudgetScope.MEMBER, user_id, amount, actor_id, reason)

    async def grant(
        self,
        *,
        guild_id: int,
        user_id: int | None,
        amount: int,
        actor_id: int,
        reason: str,
        role_ids: Sequence[int] = (),
    ) -> None:
        """Extra credits for this period: to a member, or to the guild pool (``user_id`` None)."""
        if amount <= 0:
            raise UserFacingError(
                "A grant must be more than zero; use adjust to take credits back."
            )
        await self._add_bonus(
            guild_id, user_id, amount, actor_id, reason, LedgerKind.GRANT, role_ids
        )

    async def adjust(
        self,
        *,
        guild_id: int,
        user_id: int | None,
        amount: int,
        actor_id: int,
        reason: str,
        role_ids: Sequence[int] = (),
    ) -> None:
        """Correct this period's balance up or down; never below zero."""
        if amount == 0:
            raise UserFacingError("An adjustment of zero changes nothing.")
        await self._add_bonus(
            guild_id, user_id, amount, actor_id, reason, LedgerKind.ADJUST, role_ids
        )

    async def reset(
        self, *, guild_id: int, user_id: int | None, actor_id: int, reason: str
    ) -> None:
        """Set this period's usage back to zero for a member or the guild pool."""
        async with self._db.transaction() as tx:
            window = await self.window_in(tx, guild_id)
            key = window.usage_key(guild_id, user_id)
            change = await self._usage.clear_used(tx, key)
            await self._append_moderation(tx, key, LedgerKind.RESET, change, actor_id, reason)

    async def _add_bonus(
        self,
        guild_id: int,
        user_id: int | None,
        amount: int,
        actor_id: int,
        reason: str,
        kind: LedgerKind,
        role_ids: Sequence[int],
    ) -> None:
        async with self._db.transaction() as tx:
            window = await self.window_in(tx, guild_id)
            key = window.usage_key(guild_id, user_id)
            limits = await self.limits_in(
                tx, guild_id=guild_id, user_id=user_id or NO_SUBJECT, role_ids=role_ids
            )
            limit = limits.guild if user_id is None else limits.member
            if not await self._usage.try_add_bonus(tx, key, amount, limit):
                left = (await self._usage.get(tx, key)).remaining(limit) or 0
                raise UserFacingError(
                    f"That would leave less than nothing: only {format_credits(left)} "
                    f"{self._settings.unit_name} are left to take back this period."
                )
            await self._append_moderation(tx, key, kind, amount, actor_id, reason)

    async def _append_moderation(
        self,
        tx: Transaction,
        key: UsageKey,
        kind: LedgerKind,
        amount: int,
        actor_id: int,
        reason: str,
    ) -> None:
        await self._ledger.append(
            tx,
            guild_id=key.guild_id,
            user_id=key.user_id,
            job_id=None,
            kind=kind,
            amount=amount,
            actor_id=actor_id,
            reason=reason,
            created_at=self._clock(),
            period_start=key.period_start,
        )
        log.info(
            "quota %s of %s in guild %s for %s by %s",
            kind.value,
            amount,
            key.guild_id,
            "the pool" if key.user_id is None else f"member {key.user_id}",
            actor_id,
        )

    async def _set_override(
        self,
        guild_id: int,
        scope: BudgetScope,
        subject_id: int,
        amount: int | None,
        actor_id: int,
        reason: str,
    ) -> None:
        _check_budget(amount)
        async with self._db.transaction() as tx:
            if amount is None:
                await self._budgets.remove_limit(tx, guild_id, scope, subject_id)
                log.info("quota %s override %s removed in guild %s", scope, subject_id, guild_id)
            else:
                await self._set_limit(tx, guild_id, scope, subject_id, amount, actor_id, reason)

    async def _set_limit(
        self,
        tx: Transaction,
        guild_id: int,
        scope: BudgetScope,
        subject_id: int,
        amount: int | None,
        actor_id: int,
        reason: str,
    ) -> None:
        await self._budgets.set_limit(
            tx,
            guild_id,
            scope,
            subject_id,
            amount,
            actor_id=actor_id,
            reason=reason,
            now=self._clock(),
        )
        log.info(
            "quota %s budget %s set to %s in guild %s by %s",
            scope,
            subject_id,
            amount,
            guild_id,
            actor_id,
        )


def _check_budget(amount: int | None) -> None:
    if amount is not None and amount < 0:
        raise UserFacingError("A budget cannot be negative; use 0 to allow nothing.")
