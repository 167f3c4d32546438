"""Rendering for moderator commands: credit amounts, budgets, the ledger, guild configuration."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import discord

from bot.errors import UserFacingError
from bot.quota import MILLI, LedgerKind, format_credits
from bot.ui.pagination import fit_lines
from bot.ui.text import escape_prompt

if TYPE_CHECKING:
    from bot.quota import Balance, GuildBudgets, LedgerEntry
    from bot.settings import SchedulerSettings
    from bot.store.guild_config import GuildConfig

UNLIMITED_WORDS = frozenset({"none", "unlimited", "no limit", "off"})
MAX_CREDITS = Decimal(1_000_000_000)
LEDGER_PAGE_SIZE = 10
MODERATION_COLOUR = discord.Colour.blurple()


def parse_budget(text: str) -> int | None:
    """A budget as a moderator types it ("2.5", "10", "unlimited") -> millicredits or None."""
    if text.strip().lower() in UNLIMITED_WORDS:
        return None
    return _parse_amount(text, hint=', or "unlimited" to remove the budget')


def parse_credits(text: str) -> int:
    """A grant as a moderator types it ("2.5") -> millicredits, more than zero."""
    amount = _parse_amount(text, hint="")
    if amount == 0:
        raise UserFacingError("Give an amount of credits above zero, such as 2.5 or 10.")
    return amount


def _parse_amount(text: str, *, hint: str) -> int:
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise UserFacingError(
            f"{escape_prompt(text, limit=40)} is not an amount of credits: "
            f"write a number such as 2.5 or 10{hint}."
        ) from None
    if not amount.is_finite() or amount < 0:
        raise UserFacingError("Amounts of credits must be zero or more.")
    if amount > MAX_CREDITS:
        raise UserFacingError(f"Amounts of credits can be at most {MAX_CREDITS:,}.")
    milli = amount * MILLI
    if milli != milli.to_integral_value():
        raise UserFacingError("Amounts of credits can have at most three decimals (e.g. 0.125).")
    return int(milli)


def describe_amount(millicredits: int | None, unit: str) -> str:
    """``12.5 credits``, or ``unlimited`` for a budget that is not set."""
    if millicredits is None:
        return "unlimited"
    return f"{format_credits(millicredits)} {unit}"


def signed_credits(millicredits: int) -> str:
    """An amount with its sign, as the ledger shows it (``+2.5``, ``-1``, ``0``)."""
    text = format_credits(millicredits)
    return f"+{text}" if millicredits > 0 else text


def ledger_line(entry: LedgerEntry) -> str:
    """One ledger entry as a line: when, what, how much, whose, by whom, why."""
    parts = [
        discord.utils.format_dt(entry.created, "f"),
        f"**{entry.kind}** {signed_credits(entry.amount)}",
        f"<@{entry.user_id}>" if entry.user_id is not None else "guild pool",
    ]
    if entry.actor_id is not None and entry.actor_id != entry.user_id:
        parts.append(f"by <@{entry.actor_id}>")
    if entry.job_id is not None:
        parts.append(f"job {entry.job_id}")
    if entry.kind is LedgerKind.ROLLUP:
        # Rolled-up rows stand for a whole closed period: say which one.
        start = datetime.fromtimestamp(entry.period_start, tz=UTC)
        parts.append(f"period from {discord.utils.format_dt(start, 'd')}")
    line = " · ".join(parts)
    if entry.reason:
        line += f"\n> {escape_prompt(entry.reason, limit=150)}"
    return line


def ledger_embed(
    entries: Sequence[LedgerEntry], *, page: int, unit: str, member_id: int | None
) -> discord.Embed:
    """A page of the quota ledger, newest first."""
    whose = f"<@{member_id}>" if member_id is not None else "this server"
    embed = discord.Embed(
        title="Quota ledger",
        description=f"Entries for {whose}, newest first ({unit}).",
        colour=MODERATION_COLOUR,
    )
    if entries:
        embed.description = (
            (embed.description or "") + "\n\n" + "\n".join(ledger_line(entry) for entry in entries)
        )
    else:
        embed.description = (embed.description or "") + "\n\nNo entries on this page."
    embed.set_footer(text=f"Page {page + 1}")
    return embed


def _standing(limit: int | None, used: int, reserved: int, remaining: int | None, unit: str) -> str:
    if limit is None:
        return f"unlimited; {format_credits(used)} {unit} used, {format_credits(reserved)} reserved"
    return (
        f"{describe_amount(remaining, unit)} left of {format_credits(limit)} "
        f"({format_credits(used)} used, {format_credits(reserved)} reserved)"
    )


def balance_embed(balance: Balance, *, member_id: int, unit: str) -> discord.Embed:
    """/quota show member: that member's allowance and the pool this period."""
    embed = discord.Embed(
        title="Member balance",
        description=f"<@{member_id}> this {balance.period}; the period ends "
        f"{discord.utils.format_dt(balance.period_end, 'R')}.",
        colour=MODERATION_COLOUR,
    )
    b = balance
    member = _standing(b.member_limit, b.member_used, b.member_reserved, b.member_remaining, unit)
    pool = _standing(b.guild_limit, b.guild_used, b.guild_reserved, b.guild_remaining, unit)
    embed.add_field(name="Allowance", value=member, inline=False)
    embed.add_field(name="Server pool", value=pool, inline=False)
    embed.add_field(
        name="Lifetime",
        value=f"{balance.lifetime_jobs} jobs, {format_credits(balance.lifetime_used)} {unit}",
        inline=False,
    )
    return embed


def _overrides(overrides: dict[int, int | None], mention: str, unit: str) -> str:
    lines = [
        f"{mention.format(subject)}: {describe_amount(amount, unit)}"
        for subject, amount in sorted(overrides.items())
    ]
    return fit_lines(lines) if lines else "none"


def budgets_embed(budgets: GuildBudgets, *, unit: str) -> discord.Embed:
    """/quota show: the pool, the default allowance and every override."""
    default_note = " (configured default)"
    period = f"per {budgets.period}, resetting at {budgets.reset_hour:02d}:00 UTC"
    if budgets.period_is_default:
        period += default_note
    embed = discord.Embed(
        title="Server budgets",
        description=f"Budgets are {period}; this period ends "
        f"{discord.utils.format_dt(budgets.period_end, 'R')}.",
        colour=MODERATION_COLOUR,
    )
    pool = _standing(
        budgets.pool, budgets.pool_used, budgets.pool_reserved, budgets.pool_remaining, unit
    )
    embed.add_field(
        name="Server pool",
        value=pool + (default_note if budgets.pool_is_default else ""),
        inline=False,
    )
    embed.add_field(
        name="Default member allowance",
        value=describe_amount(budgets.default_member, unit)
        + (default_note if budgets.default_member_is_default else ""),
        inline=False,
    )
    embed.add_field(name="Role overrides", value=_overrides(budgets.roles, "<@&{}>", unit))
    embed.add_field(name="Member overrides", value=_overrides(budgets.members, "<@{}>", unit))
    return embed


def normalise_banned_word(word: str) -> str:
    """A banned word as stored: trimmed, lower case, inner whitespace collapsed."""
    cleaned = " ".join(word.split()).lower()
    if not cleaned:
        raise UserFacingError("Give a word or phrase to ban.")
    return cleaned


def _limit(override: int | None, fallback: int) -> str:
    if override is not None:
        return str(override)
    shown = "no limit" if fallback == 0 else str(fallback)
    return f"{shown} (bot default)"


def guild_config_embed(config: GuildConfig, scheduler: SchedulerSettings) -> discord.Embed:
    """/guild-config show: every configurable value and where defaults apply."""
    embed = discord.Embed(title="Server configuration", colour=MODERATION_COLOUR)
    channels = ", ".join(f"<#{c}>" for c in config.allowed_channel_ids) or "every channel"
    embed.add_field(name="/imagine allowed in", value=fit_lines([channels]), inline=False)
    words = [escape_prompt(word, limit=100) for word in config.banned_words]
    embed.add_field(
        name="Banned words", value=fit_lines([", ".join(words)]) if words else "none", inline=False
    )
    embed.add_field(name="Relax policy", value=str(config.relax_policy))
    embed.add_field(name="Buttons", value=f"pressable by {config.button_policy}")
    embed.add_field(
        name="Default version", value=escape_prompt(config.default_version or "bot default")
    )
    embed.add_field(
        name="Default parameters",
        value=escape_prompt(config.default_params, limit=1000) if config.default_params else "none",
        inline=False,
    )
    limits = [
        f"running per member: "
        f"{_limit(config.max_running_per_user, scheduler.max_running_per_user)}",
        f"waiting per member: "
        f"{_limit(config.max_waiting_per_user, scheduler.max_waiting_per_user)}",
        f"running in the server: "
        f"{_limit(config.max_running_per_guild, scheduler.max_running_per_guild)}",
        f"waiting in the server: "
        f"{_limit(config.max_waiting_per_guild, scheduler.max_waiting_per_guild)}",
    ]
    embed.add_field(name="Limits", value="\n".join(limits), inline=False)
    return embed
