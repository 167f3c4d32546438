"""The invite link: exactly the scopes and channel permissions Tessera uses, and why."""

from __future__ import annotations

from typing import Final

import discord

SCOPES: Final = ("bot", "applications.commands")

# (permission flag, label, why Tessera needs it). Nothing else: results use Unicode emoji on
# buttons (no external emojis), the bot only deletes or edits its own messages (no Manage
# Messages), and it reads no message content.
PERMISSION_REASONS: Final = (
    ("view_channel", "View Channel", "see the channels where /imagine is used"),
    ("send_messages", "Send Messages", "post status lines and results"),
    ("send_messages_in_threads", "Send Messages in Threads", "work inside threads and forums"),
    ("embed_links", "Embed Links", "show /info, /queue, errors and progress previews"),
    ("attach_files", "Attach Files", "upload the generated images"),
    ("read_message_history", "Read Message History", "post results as replies"),
)


def required_permissions() -> discord.Permissions:
    """The channel permissions the bot asks for in its invite."""
    return discord.Permissions(**dict.fromkeys((flag for flag, _, _ in PERMISSION_REASONS), True))


def invite_url(application_id: int, *, guild_id: int | None = None) -> str:
    """The OAuth2 URL that adds the bot with its slash commands to a server."""
    if guild_id is None:
        return discord.utils.oauth_url(
            application_id, permissions=required_permissions(), scopes=SCOPES
        )
    return discord.utils.oauth_url(
        application_id,
        permissions=required_permissions(),
        scopes=SCOPES,
        guild=discord.Object(id=guild_id),
        disable_guild_select=True,
    )
