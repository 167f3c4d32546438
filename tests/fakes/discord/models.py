"""The fake Discord's world: users, guilds, roles, channels, members and messages.

Plain mutable records; the server turns them into wire payloads (``payloads.py``). Permission
arithmetic follows Discord's documented order: @everyone, then roles, then the channel's
overwrites (@everyone, roles, member); administrator bypasses everything.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import discord

ALL_PERMISSIONS = discord.Permissions.all().value
DEFAULT_EVERYONE = discord.Permissions(
    view_channel=True,
    send_messages=True,
    read_message_history=True,
    embed_links=True,
    attach_files=True,
    use_application_commands=True,
    add_reactions=True,
    send_messages_in_threads=True,
).value
BOT_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    read_message_history=True,
    embed_links=True,
    attach_files=True,
    manage_messages=True,
    send_messages_in_threads=True,
).value

# Discord's epoch; ids carry their creation time so discord.py's snowflake helpers work.
_DISCORD_EPOCH_MS = 1420070400000
_counter = itertools.count(1)


def new_snowflake(now_ms: int = 1_700_000_000_000) -> int:
    """A unique snowflake id (process-wide counter in the increment bits)."""
    return ((now_ms - _DISCORD_EPOCH_MS) << 22) | (next(_counter) & 0x3FFFFF)


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """The shard Discord sends a guild's events to (direct messages go to shard 0)."""
    return 0 if guild_id is None else (guild_id >> 22) % shard_count


def new_snowflake_on_shard(shard_id: int, shard_count: int) -> int:
    """A unique guild id whose events go to shard ``shard_id`` of ``shard_count``."""
    # Snowflakes share one timestamp (see new_snowflake): move it up to the shard's residue.
    snowflake = new_snowflake()
    timestamp = snowflake >> 22
    timestamp += (shard_id - timestamp) % shard_count
    return (timestamp << 22) | (snowflake & 0x3FFFFF)


def permission_value(permissions: int | discord.Permissions) -> int:
    """An int permission set from either form the test API accepts."""
    return permissions.value if isinstance(permissions, discord.Permissions) else permissions


@dataclass(eq=False)
class FakeUser:
    """A Discord user (the bot itself is one with ``bot=True``)."""

    id: int
    name: str
    bot: bool = False
    locale: str = "en-US"


@dataclass(eq=False)
class FakeRole:
    """A guild role; the @everyone role has the guild's id."""

    id: int
    name: str
    permissions: int
    position: int = 0


@dataclass(eq=False)
class FakeMember:
    """A user's membership of a guild."""

    user: FakeUser
    roles: list[FakeRole] = field(default_factory=list)
    nick: str | None = None

    @property
    def id(self) -> int:
        return self.user.id


@dataclass(eq=False)
class Overwrite:
    """A channel permission overwrite for a role or a member."""

    target_id: int
    is_member: bool
    allow: int = 0
    deny: int = 0


@dataclass(eq=False)
class FakeAttachment:
    """A file as the fake stored it: the bytes the bot uploaded, and its public URL."""

    id: int
    filename: str
    data: bytes
    content_type: str
    url: str
    description: str | None = None


@dataclass(eq=False)
class FakeMessage:
    """A message in a channel, with its edit history."""

    id: int
    channel_id: int
    guild_id: int | None
    author: FakeUser
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[FakeAttachment] = field(default_factory=list)
    flags: int = 0
    webhook_id: int | None = None
    interaction_id: int | None = None
    created_at: float = 0.0
    edited_at: float | None = None
    edit_count: int = 0
    deleted: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    """Snapshots of the message's fields before each edit (oldest first)."""

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & discord.MessageFlags.ephemeral.flag)

    @property
    def loading(self) -> bool:
        return bool(self.flags & discord.MessageFlags.loading.flag)

    def custom_ids(self) -> list[str]:
        """Every component custom_id on the message, in layout order."""
        found: list[str] = []

        def walk(components: list[dict[str, Any]]) -> None:
            for component in components:
                if "custom_id" in component:
                    found.append(component["custom_id"])
                walk(component.get("components", []))

        walk(self.components)
        return found

    def snapshot(self) -> dict[str, Any]:
        """The message's editable fields, as recorded in ``history``."""
        return {
            "content": self.content,
            "embeds": list(self.embeds),
            "components": list(self.components),
            "attachments": [a.filename for a in self.attachments],
            "flags": self.flags,
        }


@dataclass(eq=False)
class FakeChannel:
    """A guild text channel, a public thread under one (``parent_id`` set), or a DM channel."""

    id: int
    name: str
    guild_id: int | None
    overwrites: list[Overwrite] = field(default_factory=list)
    messages: list[FakeMessage] = field(default_factory=list)
    position: int = 0
    recipient: FakeUser | None = None
    parent_id: int | None = None
    """The text channel a thread belongs to; None for channels and DMs."""
    owner_id: int | None = None
    """Who started the thread."""

    @property
    def is_thread(self) -> bool:
        return self.parent_id is not None


@dataclass(eq=False)
class FakeGuild:
    """A guild with its roles, channels and members."""

    id: int
    name: str
    owner_id: int
    roles: list[FakeRole] = field(default_factory=list)
    channels: list[FakeChannel] = field(default_factory=list)
    members: dict[int, FakeMember] = field(default_factory=dict)
    threads: list[FakeChannel] = field(default_factory=list)
    """Active threads; GUILD_CREATE lists them apart from ``channels``, as Discord does."""
    locale: str = "en-US"

    @property
    def everyone(self) -> FakeRole:
        return self.roles[0]

    def base_permissions(self, member: FakeMember) -> int:
        """Guild-level permissions of a member (owner and administrator get everything)."""
        if member.id == self.owner_id:
            return ALL_PERMISSIONS
        value = self.everyone.permissions
        for role in member.roles:
            value |= role.permissions
        if value & discord.Permissions.administrator.flag:
            return ALL_PERMISSIONS
        return value

    def permissions_in(self, channel: FakeChannel, member: FakeMember) -> int:
        """A member's permissions in one channel, overwrites applied in Discord's order.

        A thread has no overwrites of its own: its parent channel's apply.
        """
        value = self.base_permissions(member)
        if value == ALL_PERMISSIONS:
            return value
        if channel.parent_id is not None:
            channel = next(c for c in self.channels if c.id == channel.parent_id)
        role_ids = {role.id for role in member.roles}
        by_target = {(o.target_id, o.is_member): o for o in channel.overwrites}
        everyone = by_target.get((self.id, False))
        if everyone is not None:
            value = (value & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for overwrite in channel.overwrites:
            if not overwrite.is_member and overwrite.target_id in role_ids:
                allow |= overwrite.allow
                deny |= overwrite.deny
        value = (value & ~deny) | allow
        own = by_target.get((member.id, True))
        if own is not None:
            value = (value & ~own.deny) | own.allow
        return value
