"""How errors reach the person who caused them: one embed style, one reporting path."""

from __future__ import annotations

import logging
import math
from typing import Any

import discord
from discord import app_commands

from bot.errors import UserFacingError
from bot.ui.text import NO_MENTIONS, escape_prompt

log = logging.getLogger(__name__)

ERROR_COLOUR = discord.Colour(0xED4245)
DEFAULT_TITLE = "That didn't work"
GENERIC_MESSAGE = "Something went wrong on our side; the problem has been logged."
_DESCRIPTION_LIMIT = 4096


def error_embed(message: str, *, title: str = DEFAULT_TITLE) -> discord.Embed:
    """The one error embed every cog shows: red, titled, the safe message as description."""
    if len(message) > _DESCRIPTION_LIMIT:
        message = message[: _DESCRIPTION_LIMIT - 1] + "…"
    return discord.Embed(title=title, description=message, colour=ERROR_COLOUR)


async def send_error(interaction: discord.Interaction[Any], message: str) -> bool:
    """Show ``message`` to the interaction's user only; False when Discord refused it.

    Uses the initial response when it is still open, else a followup, so it works before and
    after a defer. A refusal (token expired, interaction unknown) is logged, not raised: the
    caller is already on an error path and has nobody left to tell.
    """
    embed = error_embed(message)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(
                embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
        else:
            await interaction.response.send_message(
                embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
    except discord.HTTPException as exc:
        log.warning(
            "could not show an error to user %s (HTTP %s, code %s)",
            interaction.user.id,
            exc.status,
            exc.code,
        )
        return False
    return True


def _permission_names(permissions: list[str]) -> str:
    names = [p.replace("_", " ").replace("guild", "server").title() for p in permissions]
    return ", ".join(names)


def describe_error(error: Exception) -> str | None:
    """The safe message for an expected error, or None for a bug that must be logged."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, UserFacingError):
        return error.message
    if isinstance(error, app_commands.MissingPermissions):
        return f"You need the {_permission_names(error.missing_permissions)} permission for this."
    if isinstance(error, app_commands.BotMissingPermissions):
        names = _permission_names(error.missing_permissions)
        return f"I need the {names} permission in this channel to do that."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {math.ceil(error.retry_after)} s."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, app_commands.TransformerError):
        return f"{escape_prompt(str(error.value), limit=100)} is not a valid value here."
    if isinstance(error, app_commands.CommandNotFound):
        return "That command is out of date; try again in a minute."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    return None


async def report_error(interaction: discord.Interaction[Any], error: Exception) -> None:
    """Tell the user what went wrong: the safe message, or a generic one after logging the bug."""
    message = describe_error(error)
    if message is None:
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        command = interaction.command.qualified_name if interaction.command else None
        log.error(
            "unhandled error in interaction %s (command %s, guild %s, user %s)",
            interaction.id,
            command,
            interaction.guild_id,
            interaction.user.id,
            exc_info=original,
        )
        message = GENERIC_MESSAGE
    await send_error(interaction, message)
