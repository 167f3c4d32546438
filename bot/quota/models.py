"""What the quota service answers with: balances, budgets and the limits that apply."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from bot.quota.costs import to_millicredits
from bot.settings import QuotaSettings
from bot.store.budgets import BudgetLimit, BudgetPeriod, BudgetScope


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Balance(_Frozen):
    """A member's and their guild's standing this period, in millicredits (None: unlimited)."""

    member_limit: int | None
    """The member's allowance including this period's grants and adjustments."""
    member_used: int
    member_reserved: int
    member_remaining: int | None
    guild_limit: int | None
    """The guild pool including this period's grants and adjustments."""
    guild_used: int
    guild_reserved: int
    guild_remaining: int | None
    period: BudgetPeriod
    period_start: datetime
    period_end: datetime
    lifetime_used: int
    """Everything the member was charged in this guild, over every period."""
    lifetime_jobs: int


class GuildBudgets(_Frozen):
    """A guild's budgets as moderators see them in ``/quota show``."""

    guild_id: int
    period: BudgetPeriod
    reset_hour: int
    period_is_default: bool
    """True while the guild uses the configured period and reset hour."""
    period_end: datetime
    pool: int | None
    pool_is_default: bool
    default_member: int | None
    default_member_is_default: bool
    roles: dict[int, int | None]
    members: dict[int, int | None]
    pool_used: int
    pool_reserved: int
    pool_remaining: int | None


class Limits(_Frozen):
    """The limits that apply to one member and their guild's pool (None: unlimited)."""

    member: int | None
    guild: int | None


def _configured(credits: float | None) -> int | None:
    return None if credits is None else to_millicredits(credits)


def resolve_limits(
    limits: Sequence[BudgetLimit],
    settings: QuotaSettings,
    *,
    user_id: int,
    role_ids: Sequence[int],
) -> Limits:
    """Member override, else the highest role override, else the guild default, else settings."""
    by_scope: dict[BudgetScope, dict[int, int | None]] = {scope: {} for scope in BudgetScope}
    for limit in limits:
        by_scope[limit.scope][limit.subject_id] = limit.amount
    pool = by_scope[BudgetScope.GUILD]
    guild = next(iter(pool.values())) if pool else _configured(settings.default_guild_budget)
    members = by_scope[BudgetScope.MEMBER]
    if user_id in members:
        return Limits(member=members[user_id], guild=guild)
    roles = [by_scope[BudgetScope.ROLE][r] for r in role_ids if r in by_scope[BudgetScope.ROLE]]
    if roles:
        # An unlimited role beats every number.
        member = None if None in roles else max(r for r in roles if r is not None)
        return Limits(member=member, guild=guild)
    defaults = by_scope[BudgetScope.DEFAULT]
    if defaults:
        return Limits(member=next(iter(defaults.values())), guild=guild)
    return Limits(member=_configured(settings.default_member_budget), guild=guild)
