"""/guild-config: moderators set the server's channels, words, policies, limits and defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.ui.account import model_versions, reply_privately
from bot.ui.moderation import guild_config_embed, normalise_banned_word
from bot.ui.pagination import fit_lines
from bot.ui.text import escape_prompt
from cogs.moderation._checks import MODERATOR_PERMISSIONS, require_moderator

if TYPE_CHECKING:
    from bot.app import TesseraBot
    from bot.services import Services
    from bot.store.guild_config import GuildConfig

LimitValue = app_commands.Range[int, 0, 10_000]


class GuildConfigCog(commands.Cog, name="Guild configuration"):
    """Moderator commands over the guild's configuration."""

    config = app_commands.Group(
        name="guild-config",
        description="Channels, banned words, relax policy, limits and defaults (moderators)",
        guild_only=True,
        default_permissions=MODERATOR_PERMISSIONS,
    )
    channels = app_commands.Group(
        name="channels", description="Channels where /imagine may be used", parent=config
    )
    banned_words = app_commands.Group(
        name="banned-words", description="Words refused in prompts", parent=config
    )

    def __init__(self, bot: TesseraBot) -> None:
        self.bot = bot

    @property
    def services(self) -> Services:
        """The bot's services container."""
        return self.bot.services

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        """Every command of this cog is for moderators only."""
        return require_moderator(interaction)

    async def _current(self, interaction: discord.Interaction[Any]) -> GuildConfig:
        return await self.services.guild_config.get(interaction.guild_id or 0)

    async def _update(self, interaction: discord.Interaction[Any], **changes: Any) -> GuildConfig:
        return await self.services.guild_config.update(interaction.guild_id or 0, **changes)

    @config.command(name="show", description="Show this server's configuration")
    async def show(self, interaction: discord.Interaction[Any]) -> None:
        """Show every configurable value of this guild."""
        current = await self._current(interaction)
        await reply_privately(
            interaction, embed=guild_config_embed(current, self.services.settings.scheduler)
        )

    @channels.command(name="add", description="Allow /imagine in a channel")
    async def channel_add(
        self, interaction: discord.Interaction[Any], channel: discord.TextChannel
    ) -> None:
        """Add a channel to the allowed list (an empty list allows every channel)."""
        await self.services.guild_config.add_allowed_channel(interaction.guild_id or 0, channel.id)
        await reply_privately(interaction, f"/imagine is now allowed in {channel.mention}.")

    @channels.command(name="remove", description="Stop allowing /imagine in a channel")
    async def channel_remove(
        self, interaction: discord.Interaction[Any], channel: discord.TextChannel
    ) -> None:
        """Remove a channel from the allowed list."""
        updated = await self.services.guild_config.remove_allowed_channel(
            interaction.guild_id or 0, channel.id
        )
        if updated is None:
            raise UserFacingError(f"{channel.mention} is not in the allowed list.")
        note = "" if updated.allowed_channel_ids else " The list is empty now: every channel works."
        await reply_privately(interaction, f"{channel.mention} is no longer allowed.{note}")

    @channels.command(name="list", description="List the channels where /imagine may be used")
    async def channel_list(self, interaction: discord.Interaction[Any]) -> None:
        """List the allowed channels."""
        current = await self._current(interaction)
        if not current.allowed_channel_ids:
            await reply_privately(interaction, "/imagine is allowed in every channel.")
            return
        mentions = ", ".join(f"<#{c}>" for c in sorted(current.allowed_channel_ids))
        await reply_privately(interaction, f"/imagine is allowed in: {mentions}")

    @banned_words.command(name="add", description="Refuse prompts containing a word")
    @app_commands.describe(word="A word or phrase, matched as whole words, any case")
    async def word_add(
        self, interaction: discord.Interaction[Any], word: app_commands.Range[str, 1, 100]
    ) -> None:
        """Add a banned word."""
        cleaned = normalise_banned_word(word)
        await self.services.guild_config.add_banned_words(interaction.guild_id or 0, [cleaned])
        await reply_privately(
            interaction, f"Prompts containing {escape_prompt(cleaned, limit=100)} are refused now."
        )

    @banned_words.command(name="remove", description="Stop refusing a word")
    async def word_remove(
        self, interaction: discord.Interaction[Any], word: app_commands.Range[str, 1, 100]
    ) -> None:
        """Remove a banned word."""
        cleaned = normalise_banned_word(word)
        lifted = await self.services.guild_config.remove_banned_word(
            interaction.guild_id or 0, cleaned
        )
        if lifted is None:
            raise UserFacingError(f"{escape_prompt(cleaned, limit=100)} is not a banned word.")
        await reply_privately(interaction, f"{escape_prompt(cleaned, limit=100)} is allowed again.")

    @banned_words.command(name="list", description="List the banned words")
    async def word_list(self, interaction: discord.Interaction[Any]) -> None:
        """List the banned words."""
        current = await self._current(interaction)
        if not current.banned_words:
            await reply_privately(interaction, "No words are banned.")
            return
        words = fit_lines([escape_prompt(w, limit=100) for w in current.banned_words], limit=1900)
        await reply_privately(interaction, f"Banned words:\n{words}")

    @config.command(name="relax-policy", description="What happens when fast credits run out")
    @app_commands.describe(
        policy="offer: suggest /relax; auto: switch to relax; deny: no relax mode at all"
    )
    async def relax_policy(
        self, interaction: discord.Interaction[Any], policy: Literal["offer", "auto", "deny"]
    ) -> None:
        """Set the relax policy."""
        await self._update(interaction, relax_policy=policy)
        await reply_privately(interaction, f"Relax policy: {policy}.")

    @config.command(name="buttons", description="Who may press a job's buttons")
    @app_commands.describe(who="anyone (who is then charged) or only the job's owner")
    async def buttons(
        self, interaction: discord.Interaction[Any], who: Literal["anyone", "owner"]
    ) -> None:
        """Set the button policy."""
        await self._update(interaction, button_policy=who)
        await reply_privately(interaction, f"Job buttons may be pressed by: {who}.")

    @config.command(name="limits", description="Job limits for this server (0: the bot's default)")
    async def limits(
        self,
        interaction: discord.Interaction[Any],
        running_per_user: LimitValue | None = None,
        waiting_per_user: LimitValue | None = None,
        running_per_guild: LimitValue | None = None,
        waiting_per_guild: LimitValue | None = None,
    ) -> None:
        """Override some of the queue limits; 0 goes back to the bot's setting."""
        given = {
            "max_running_per_user": running_per_user,
            "max_waiting_per_user": waiting_per_user,
            "max_running_per_guild": running_per_guild,
            "max_waiting_per_guild": waiting_per_guild,
        }
        changes = {name: value or None for name, value in given.items() if value is not None}
        if not changes:
            raise UserFacingError("Give at least one limit to change.")
        current = await self._update(interaction, **changes)
        await reply_privately(
            interaction, embed=guild_config_embed(current, self.services.settings.scheduler)
        )

    @config.command(name="default-version", description="The model version prompts use by default")
    @app_commands.describe(version='A version such as 7 or 6.1; "none" for the bot\'s default')
    async def default_version(self, interaction: discord.Interaction[Any], version: str) -> None:
        """Set the guild's default version, checked by the prompt parser."""
        cleaned = version.strip().lower().removeprefix("v").strip()
        if cleaned in {"none", "default", ""}:
            await self._update(interaction, default_version=None)
            await reply_privately(interaction, "Prompts use the bot's default version again.")
            return
        stored = await self.services.guild_config.set_default_version(
            interaction.guild_id or 0, cleaned
        )
        await reply_privately(
            interaction, f"Prompts use version {escape_prompt(stored)} by default."
        )

    @default_version.autocomplete("version")
    async def default_version_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """The versions the parameter table knows."""
        return [
            app_commands.Choice(name=value, value=value)
            for value in model_versions(niji=False)
            if current.strip() in value
        ][:25]

    @config.command(name="default-params", description="Parameters added to every prompt here")
    @app_commands.describe(text='Parameters such as "--ar 16:9 --s 250"; leave out to clear')
    async def default_params(
        self, interaction: discord.Interaction[Any], text: str | None = None
    ) -> None:
        """Set (or clear) the guild's default parameters, checked by the prompt parser."""
        cleaned = (text or "").strip()
        await self.services.guild_config.set_default_params(interaction.guild_id or 0, cleaned)
        if cleaned:
            message = f"Default parameters: {escape_prompt(cleaned, limit=300)}"
        else:
            message = "Default parameters cleared."
        await reply_privately(interaction, message)
