"""Building the fake's world: users, guilds, roles, members, channels, overwrites, files."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import discord

from tests.fakes.discord import models, payloads
from tests.fakes.discord.models import (
    FakeAttachment,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    Overwrite,
    new_snowflake,
)


class WorldBuilding:
    """The world-building half of FakeDiscord's test API (mixed into it)."""

    if TYPE_CHECKING:
        bot_user: FakeUser
        users: dict[int, FakeUser]
        guilds: dict[int, FakeGuild]
        channels: dict[int, FakeChannel]
        _attachments: dict[int, FakeAttachment]

        @property
        def base_url(self) -> str: ...
        def _announce(
            self,
            event: str,
            build: Callable[[], dict[str, Any]],
            *,
            intent: int = 0,
            guild_id: int | None = None,
        ) -> None: ...

    def add_user(self, name: str, *, locale: str = "en-US") -> FakeUser:
        user = FakeUser(new_snowflake(), name, locale=locale)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str = "Guild",
        *,
        owner: FakeUser | None = None,
        shard: tuple[int, int] | None = None,
    ) -> FakeGuild:
        """A guild with @everyone, the bot as a member (with a "Tessera" role) and an owner.

        ``shard`` (id, count) picks an id whose events Discord sends to that shard.
        """
        owner = owner or self.add_user(f"{name}-owner")
        guild_id = new_snowflake() if shard is None else models.new_snowflake_on_shard(*shard)
        guild = FakeGuild(guild_id, name, owner_id=owner.id)
        guild.roles.append(FakeRole(guild.id, "@everyone", models.DEFAULT_EVERYONE))
        bot_role = self.add_role(guild, self.bot_user.name, models.BOT_PERMISSIONS)
        guild.members[self.bot_user.id] = FakeMember(self.bot_user, [bot_role])
        guild.members[owner.id] = FakeMember(owner)
        self.guilds[guild.id] = guild
        self._announce(
            "GUILD_CREATE", lambda: payloads.guild(guild, joined=True), guild_id=guild.id
        )
        return guild

    def add_role(
        self, guild: FakeGuild, name: str, permissions: int | discord.Permissions = 0
    ) -> FakeRole:
        role = FakeRole(
            new_snowflake(), name, models.permission_value(permissions), len(guild.roles)
        )
        guild.roles.append(role)
        return role

    def add_member(
        self,
        guild: FakeGuild,
        user: FakeUser | str,
        *,
        roles: Iterable[FakeRole] = (),
        permissions: int | discord.Permissions | None = None,
    ) -> FakeMember:
        """Add a member; ``permissions`` gives them a role of their own with those permissions."""
        the_user = self.add_user(user) if isinstance(user, str) else user
        member = FakeMember(the_user, list(roles))
        if permissions is not None:
            member.roles.append(self.add_role(guild, f"{the_user.name}-role", permissions))
        guild.members[the_user.id] = member
        return member

    def add_moderator(self, guild: FakeGuild, name: str = "moderator") -> FakeMember:
        """A member with manage_guild (what Tessera's moderator commands require)."""
        return self.add_member(guild, name, permissions=discord.Permissions(manage_guild=True))

    def add_channel(
        self,
        guild: FakeGuild,
        name: str = "general",
        *,
        bot_denied: int | discord.Permissions = 0,
    ) -> FakeChannel:
        """A text channel; ``bot_denied`` lists permissions an overwrite denies the bot."""
        channel = FakeChannel(new_snowflake(), name, guild.id, position=len(guild.channels))
        denied = models.permission_value(bot_denied)
        if denied:
            channel.overwrites.append(Overwrite(self.bot_user.id, is_member=True, deny=denied))
        guild.channels.append(channel)
        self.channels[channel.id] = channel
        self._announce(
            "CHANNEL_CREATE", lambda: payloads.channel(channel), guild_id=channel.guild_id
        )
        return channel

    def add_thread(
        self, parent: FakeChannel, name: str = "thread", *, owner: FakeUser | None = None
    ) -> FakeChannel:
        """A public thread under text channel ``parent``, announced as THREAD_CREATE."""
        guild = self.guild_of(parent)
        if guild is None or parent.is_thread:
            raise AssertionError("threads live under a guild text channel")
        starter = owner or self.users[guild.owner_id]
        thread = FakeChannel(
            new_snowflake(), name, guild.id, parent_id=parent.id, owner_id=starter.id
        )
        guild.threads.append(thread)
        self.channels[thread.id] = thread
        self._announce(
            "THREAD_CREATE",
            lambda: {**payloads.thread(thread), "newly_created": True},
            guild_id=guild.id,
        )
        return thread

    def set_overwrite(
        self,
        channel: FakeChannel,
        target: FakeRole | FakeMember | FakeUser,
        *,
        allow: int | discord.Permissions = 0,
        deny: int | discord.Permissions = 0,
    ) -> None:
        is_member = not isinstance(target, FakeRole)
        channel.overwrites = [o for o in channel.overwrites if o.target_id != target.id]
        overwrite = Overwrite(
            target.id, is_member, models.permission_value(allow), models.permission_value(deny)
        )
        channel.overwrites.append(overwrite)
        self._announce(
            "CHANNEL_UPDATE", lambda: payloads.channel(channel), guild_id=channel.guild_id
        )

    def add_attachment(
        self, filename: str, data: bytes, content_type: str = "image/png"
    ) -> FakeAttachment:
        """A user-uploaded file, for an ATTACHMENT command option."""
        attachment_id = new_snowflake()
        url = f"{self.base_url}/attachments/{attachment_id}/{filename}"
        attachment = FakeAttachment(attachment_id, filename, data, content_type, url)
        self._attachments[attachment_id] = attachment
        return attachment

    def guild_of(self, channel: FakeChannel) -> FakeGuild | None:
        return self.guilds.get(channel.guild_id) if channel.guild_id is not None else None

    def bot_permissions(self, channel: FakeChannel) -> int:
        guild = self.guild_of(channel)
        if guild is None:
            return models.BOT_PERMISSIONS
        return guild.permissions_in(channel, guild.members[self.bot_user.id])
