"""/info, /settings, /fast, /relax, /turbo and /prefer: a member's own account."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.account.checks import OPTION_NAME
from bot.errors import UserFacingError
from bot.model import SpeedMode
from bot.ui.account import (
    SettingsChoice,
    SettingsView,
    choice_from_text,
    info_embed,
    model_versions,
    options_embed,
    quality_values,
    reply_privately,
    speed_changed_message,
    suffix_message,
)
from bot.ui.members import role_ids
from bot.ui.text import escape_prompt
from cogs.queue import ACTIVE_JOBS_LIMIT

if TYPE_CHECKING:
    from bot.app import TesseraBot
    from bot.services import Services

TURBO_VERSION_NOTE = (
    "Your default version is older than V5, where turbo does not run: prompts in turbo mode "
    "need --v 5 or later (or pick a newer version in /settings)."
)


class AccountCog(commands.Cog, name="Account"):
    """A member's speed mode, defaults, suffix and custom options."""

    prefer = app_commands.Group(
        name="prefer", description="Your suffix and custom options", guild_only=True
    )
    option = app_commands.Group(
        name="option", description="Custom options: --name expands to your text", parent=prefer
    )

    def __init__(self, bot: TesseraBot) -> None:
        self.bot = bot

    @property
    def services(self) -> Services:
        """The bot's services container."""
        return self.bot.services

    async def _set_speed(self, interaction: discord.Interaction[Any], speed: SpeedMode) -> None:
        changed = await self.services.account.set_speed(
            guild_id=interaction.guild_id or 0, user_id=interaction.user.id, speed=speed
        )
        message = speed_changed_message(speed)
        if changed.turbo_blocked:
            message += f"\n{TURBO_VERSION_NOTE}"
        await reply_privately(interaction, message)

    @app_commands.command(name="info", description="Your speed mode, credits and jobs")
    @app_commands.guild_only()
    async def info(self, interaction: discord.Interaction[Any]) -> None:
        """Show the member's mode, credits left and when they reset, usage and active jobs."""
        guild_id = interaction.guild_id or 0
        user = interaction.user
        settings = await self.services.account.settings(user.id)
        balance = await self.services.quota.balance(
            guild_id=guild_id, user_id=user.id, role_ids=role_ids(user)
        )
        jobs = await self.services.jobs.user_jobs(
            guild_id=guild_id, user_id=user.id, limit=ACTIVE_JOBS_LIMIT
        )
        embed = info_embed(
            speed=settings.speed,
            balance=balance,
            jobs=jobs,
            unit=self.services.settings.quota.unit_name,
        )
        await reply_privately(interaction, embed=embed)

    @app_commands.command(
        name="settings", description="Your default version, stylize, quality, mode"
    )
    @app_commands.guild_only()
    async def settings(self, interaction: discord.Interaction[Any]) -> None:
        """Open the member's settings: select menus and a Raw toggle, saved on every change."""
        stored = await self.services.account.settings(interaction.user.id)
        view = SettingsView(
            owner_id=interaction.user.id,
            choice=choice_from_text(stored.default_params),
            speed=stored.speed,
            versions=model_versions(),
            qualities=quality_values(),
            save=self._save_settings,
        )
        await view.show(interaction, view.embed())

    async def _save_settings(
        self, interaction: discord.Interaction[Any], choice: SettingsChoice, speed: SpeedMode
    ) -> tuple[SettingsChoice, SpeedMode]:
        stored = await self.services.account.save_settings(
            guild_id=interaction.guild_id or 0,
            user_id=interaction.user.id,
            speed=speed,
            default_params=choice.to_text(),
        )
        return choice_from_text(stored.default_params), stored.speed

    @app_commands.command(name="fast", description="Switch to fast mode (uses your credits)")
    @app_commands.guild_only()
    async def fast(self, interaction: discord.Interaction[Any]) -> None:
        """Set the member's speed mode to fast."""
        await self._set_speed(interaction, SpeedMode.FAST)

    @app_commands.command(name="relax", description="Switch to relax mode (free, runs when idle)")
    @app_commands.guild_only()
    async def relax(self, interaction: discord.Interaction[Any]) -> None:
        """Set the member's speed mode to relax, where the server allows it."""
        await self._set_speed(interaction, SpeedMode.RELAX)

    @app_commands.command(name="turbo", description="Switch to turbo mode (first in line, 2x cost)")
    @app_commands.guild_only()
    async def turbo(self, interaction: discord.Interaction[Any]) -> None:
        """Set the member's speed mode to turbo."""
        await self._set_speed(interaction, SpeedMode.TURBO)

    @prefer.command(name="suffix", description="Text added to the end of every prompt")
    @app_commands.describe(text="Text and parameters, e.g. '--ar 16:9'; leave out to clear")
    async def suffix(self, interaction: discord.Interaction[Any], text: str | None = None) -> None:
        """Set or clear the member's suffix, checked by the prompt parser first."""
        saved = await self.services.account.set_suffix(
            guild_id=interaction.guild_id or 0, user_id=interaction.user.id, text=text or ""
        )
        await reply_privately(interaction, suffix_message(saved.suffix))

    @option.command(name="set", description="Create or change a custom option")
    @app_commands.describe(
        name="The option's name (used as --name)", value="Parameters it stands for"
    )
    async def option_set(
        self,
        interaction: discord.Interaction[Any],
        name: app_commands.Range[str, 1, 40],
        value: app_commands.Range[str, 1, 500],
    ) -> None:
        """Save a custom option after checking its name and value with the prompt parser."""
        key = await self.services.account.set_option(
            user_id=interaction.user.id, name=name, value=value
        )
        await reply_privately(
            interaction,
            f"--{key} now stands for: {escape_prompt(value.strip(), limit=500)}",
        )

    @option.command(name="list", description="List your custom options")
    async def option_list(self, interaction: discord.Interaction[Any]) -> None:
        """Show the member's custom options."""
        options = await self.services.account.options(interaction.user.id)
        await reply_privately(interaction, embed=options_embed(options))

    @option.command(name="delete", description="Delete one of your custom options")
    async def option_delete(
        self, interaction: discord.Interaction[Any], name: app_commands.Range[str, 1, 40]
    ) -> None:
        """Delete a custom option."""
        key = name.strip().lstrip("-").lower()
        if not OPTION_NAME.fullmatch(key) or not await self.services.account.delete_option(
            user_id=interaction.user.id, name=key
        ):
            raise UserFacingError(
                f"You have no option named --{escape_prompt(key, limit=40)}; "
                "see /prefer option list."
            )
        await reply_privately(interaction, f"--{escape_prompt(key, limit=40)} is deleted.")

    @option_delete.autocomplete("name")
    async def option_names(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """The member's option names that match what was typed."""
        options = await self.services.account.options(interaction.user.id)
        typed = current.strip().lstrip("-").lower()
        return [app_commands.Choice(name=f"--{key}", value=key) for key in options if typed in key][
            :25
        ]


async def setup(bot: TesseraBot) -> None:
    """Load the cog (discord.py extension entry point)."""
    await bot.add_cog(AccountCog(bot))
