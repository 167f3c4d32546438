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


# In a thread Discord checks Send Messages in Threads instead of Send Messages.
THREAD_PERMISSIONS: tuple[tuple[str, str], ...] = tuple(
    ("send_messages_in_threads", "Send Messages in Threads") if pair[0] == "send_messages" else pair
    for pair in REQUIRED_PERMISSIONS
)


def missing_permissions(permissions: discord.Permissions, *, in_thread: bool = False) -> list[str]:
    """The names of the permissions the bot lacks, in a stable order."""
    required = THREAD_PERMISSIONS if in_thread else REQUIRED_PERMISSIONS
    return [label for name, label in required if not getattr(permissions, name)]


def require_channel_permissions(interaction: discord.Interaction[discord.Client]) -> None:
    """Raise ``NotAllowed`` naming what is missing before anything is queued or charged."""
    in_thread = isinstance(interaction.channel, discord.Thread)
    missing = missing_permissions(interaction.app_permissions, in_thread=in_thread)
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
