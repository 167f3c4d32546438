"""The run-time moderator check every moderator command and group carries."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

MODERATOR_PERMISSIONS = discord.Permissions(manage_guild=True)
"""What Discord shows moderator commands to by default; re-checked at run time below."""


def require_moderator(interaction: discord.Interaction[Any]) -> bool:
    """Refuse anyone without Manage Server, even when a server's command overrides show it."""
    # default_permissions is only a default a server admin may override in its integration
    # settings, so the permission is checked again on every invocation.
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    if not interaction.permissions.manage_guild:
        raise app_commands.MissingPermissions(["manage_guild"])
    return True
