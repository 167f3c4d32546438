"""Whether the bot can post status and results in the channel an interaction came from."""

from __future__ import annotations

import discord

from bot.errors import NotAllowed

# What a status line, a result with an attachment and buttons, and a reply need.
REQUIRED_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("attach_files", "Attach Files"),
    ("embed_links", "Embed Links"),
    ("read_message_history", "Read Message History"),
)


def missing_permissions(permissions: discord.Permissions) -> list[str]:
    """The names of the permissions the bot lacks, in a stable order."""
    return [label for name, label in REQUIRED_PERMISSIONS if not getattr(permissions, name)]


def require_channel_permissions(interaction: discord.Interaction[discord.Client]) -> None:
    """Raise ``NotAllowed`` naming what is missing before anything is queued or charged."""
    missing = missing_permissions(interaction.app_permissions)
    if missing:
        raise NotAllowed(
            "I cannot post images in this channel: I am missing "
            + ", ".join(missing)
            + ". Ask a moderator to grant them, or use another channel."
        )


def parent_channel_id(interaction: discord.Interaction[discord.Client]) -> int | None:
    """The channel a thread or forum post belongs to; None outside threads."""
    channel = interaction.channel
    return channel.parent_id if isinstance(channel, discord.Thread) else None
