"""/quota: moderators read and change budgets, grant and reset credits, read the ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.quota import BudgetPeriod
from bot.ui.account import reply_privately
from bot.ui.members import role_ids
from bot.ui.moderation import (
    LEDGER_PAGE_SIZE,
    balance_embed,
    budgets_embed,
    describe_amount,
    ledger_embed,
    parse_budget,
    parse_credits,
)
from bot.ui.pagination import Page, Paginator
from bot.ui.text import escape_prompt
from cogs.moderation._checks import MODERATOR_PERMISSIONS, require_moderator

if TYPE_CHECKING:
    from bot.app import TesseraBot
    from bot.services import Services

AMOUNT_HELP = 'Credits per period, e.g. 2.5; "unlimited" removes the budget'


class QuotaCog(commands.Cog, name="Quota"):
    """Moderator commands over budgets and the ledger."""

    quota = app_commands.Group(
        name="quota",
        description="Credits budgets, grants and the ledger (moderators)",
        guild_only=True,
        default_permissions=MODERATOR_PERMISSIONS,
    )

    def __init__(self, bot: TesseraBot) -> None:
        self.bot = bot

    @property
    def services(self) -> Services:
        """The bot's services container."""
        return self.bot.services

    @property
    def unit(self) -> str:
        """What credits are called on this bot."""
        return self.services.settings.quota.unit_name

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        """Every command of this cog is for moderators only."""
        return require_moderator(interaction)

    @quota.command(name="show", description="Show the server's budgets, or one member's balance")
    @app_commands.describe(member="Whose balance to show; leave out for the server's budgets")
    async def show(
        self, interaction: discord.Interaction[Any], member: discord.Member | None = None
    ) -> None:
        """Show budgets and overrides, or a member's balance this period."""
        guild_id = interaction.guild_id or 0
        if member is None:
            budgets = await self.services.quota.budgets(guild_id=guild_id)
            embed = budgets_embed(budgets, unit=self.unit)
        else:
            balance = await self.services.quota.balance(
                guild_id=guild_id, user_id=member.id, role_ids=role_ids(member)
            )
            embed = balance_embed(balance, member_id=member.id, unit=self.unit)
        await reply_privately(interaction, embed=embed)

    @quota.command(name="set-guild", description="Set the server's credit pool per period")
    @app_commands.describe(
        amount=AMOUNT_HELP,
        period="How often the pool refills",
        reset_hour="Hour of the day (UTC) when the period starts",
    )
    async def set_guild(
        self,
        interaction: discord.Interaction[Any],
        amount: str,
        period: Literal["day", "week", "month"] | None = None,
        reset_hour: app_commands.Range[int, 0, 23] | None = None,
    ) -> None:
        """Set (or clear) the guild pool, its period and its reset hour."""
        millicredits = parse_budget(amount)
        await self.services.quota.set_guild_budget(
            guild_id=interaction.guild_id or 0,
            amount=millicredits,
            period=BudgetPeriod(period) if period is not None else None,
            reset_hour=reset_hour,
            actor_id=interaction.user.id,
            reason="/quota set-guild",
        )
        when = f" per {period}" if period else " per period"
        hour = f", resetting at {reset_hour:02d}:00 UTC" if reset_hour is not None else ""
        await reply_privately(
            interaction,
            f"The server pool is now {describe_amount(millicredits, self.unit)}"
            f"{when if millicredits is not None else ''}{hour}.",
        )

    @quota.command(name="set-member", description="Set one member's allowance per period")
    @app_commands.describe(member="Whose allowance", amount=AMOUNT_HELP)
    async def set_member(
        self, interaction: discord.Interaction[Any], member: discord.Member, amount: str
    ) -> None:
        """Override one member's allowance (or remove the override)."""
        millicredits = parse_budget(amount)
        await self.services.quota.set_member_budget(
            guild_id=interaction.guild_id or 0,
            user_id=member.id,
            amount=millicredits,
            actor_id=interaction.user.id,
            reason="/quota set-member",
        )
        if millicredits is None:
            text = f"{member.mention}'s override is removed; their roles or the default apply."
        else:
            text = (
                f"{member.mention}'s allowance is now {describe_amount(millicredits, self.unit)}."
            )
        await reply_privately(interaction, text)

    @quota.command(name="set-role", description="Set the allowance of members with a role")
    @app_commands.describe(
        role="The role (@everyone sets the default allowance for all members)", amount=AMOUNT_HELP
    )
    async def set_role(
        self, interaction: discord.Interaction[Any], role: discord.Role, amount: str
    ) -> None:
        """Override the allowance of a role, or the default one through @everyone."""
        millicredits = parse_budget(amount)
        guild_id = interaction.guild_id or 0
        quota = self.services.quota
        if role.id == guild_id:
            # @everyone's id is the guild's: it is every member's default allowance.
            await quota.set_default_member_budget(
                guild_id=guild_id,
                amount=millicredits,
                actor_id=interaction.user.id,
                reason="/quota set-role @everyone",
            )
            what = "The default member allowance"
        else:
            await quota.set_role_budget(
                guild_id=guild_id,
                role_id=role.id,
                amount=millicredits,
                actor_id=interaction.user.id,
                reason="/quota set-role",
            )
            what = f"The allowance of {role.mention}"
            if millicredits is None:
                await reply_privately(interaction, f"{what} follows the default again.")
                return
        await reply_privately(
            interaction, f"{what} is now {describe_amount(millicredits, self.unit)}."
        )

    @quota.command(name="grant", description="Give extra credits for this period")
    @app_commands.describe(
        member="Who gets them; leave out to add them to the server pool",
        amount="Credits, e.g. 2.5",
        reason="Why (kept in the ledger)",
    )
    async def grant(
        self,
        interaction: discord.Interaction[Any],
        amount: str,
        reason: app_commands.Range[str, 1, 200],
        member: discord.Member | None = None,
    ) -> None:
        """Add extra credits to a member's allowance or the pool for this period."""
        millicredits = parse_credits(amount)
        await self.services.quota.grant(
            guild_id=interaction.guild_id or 0,
            user_id=member.id if member else None,
            amount=millicredits,
            actor_id=interaction.user.id,
            reason=reason,
            role_ids=role_ids(member) if member else (),
        )
        whom = member.mention if member else "the server pool"
        await reply_privately(
            interaction,
            f"Granted {describe_amount(millicredits, self.unit)} to {whom} for this period "
            f"({escape_prompt(reason, limit=200)}).",
        )

    @quota.command(name="reset", description="Set this period's usage back to zero")
    @app_commands.describe(
        member="Whose usage; leave out to reset the server pool", reason="Why (kept in the ledger)"
    )
    async def reset(
        self,
        interaction: discord.Interaction[Any],
        reason: app_commands.Range[str, 1, 200],
        member: discord.Member | None = None,
    ) -> None:
        """Reset a member's or the pool's usage for the current period."""
        await self.services.quota.reset(
            guild_id=interaction.guild_id or 0,
            user_id=member.id if member else None,
            actor_id=interaction.user.id,
            reason=reason,
        )
        whom = f"{member.mention}'s" if member else "The server pool's"
        await reply_privately(interaction, f"{whom} usage for this period is back to zero.")

    @quota.command(name="ledger", description="Read the quota ledger, newest first")
    @app_commands.describe(member="Only this member's entries")
    async def ledger(
        self, interaction: discord.Interaction[Any], member: discord.Member | None = None
    ) -> None:
        """Page through the ledger of the server or one member."""
        guild_id = interaction.guild_id or 0
        member_id = member.id if member else None
        quota = self.services.quota

        async def load(page: int) -> Page:
            # One extra row tells whether a next page exists without counting the ledger.
            rows = await quota.ledger(
                guild_id=guild_id,
                user_id=member_id,
                limit=LEDGER_PAGE_SIZE + 1,
                offset=page * LEDGER_PAGE_SIZE,
            )
            embed = ledger_embed(
                rows[:LEDGER_PAGE_SIZE], page=page, unit=self.unit, member_id=member_id
            )
            return Page(embed=embed, has_next=len(rows) > LEDGER_PAGE_SIZE)

        await Paginator(owner_id=interaction.user.id, load=load).send(interaction)
