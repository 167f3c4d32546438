"""Wire payloads (Discord API v10 JSON) for the fake's records."""

from __future__ import annotations

import datetime
from typing import Any

from tests.fakes.discord.models import (
    FakeAttachment,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
)

_JOINED_AT = "2024-01-01T00:00:00+00:00"
PUBLIC_THREAD = 11


def iso(timestamp: float) -> str:
    """An ISO 8601 timestamp as Discord writes it."""
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC).isoformat()


def user(record: FakeUser) -> dict[str, Any]:
    """A user object."""
    return {
        "id": str(record.id),
        "username": record.name,
        "global_name": record.name,
        "discriminator": "0",
        "avatar": None,
        "bot": record.bot,
        "public_flags": 0,
        "locale": record.locale,
        "verified": True,
        "mfa_enabled": False,
        "flags": 0,
    }


def role(record: FakeRole) -> dict[str, Any]:
    """A role object."""
    return {
        "id": str(record.id),
        "name": record.name,
        "permissions": str(record.permissions),
        "position": record.position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def member(record: FakeMember, *, permissions: int | None = None) -> dict[str, Any]:
    """A guild member object (with ``permissions`` when it travels inside an interaction)."""
    data: dict[str, Any] = {
        "user": user(record.user),
        "roles": [str(r.id) for r in record.roles],
        "nick": record.nick,
        "joined_at": _JOINED_AT,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "avatar": None,
    }
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def overwrites(channel: FakeChannel) -> list[dict[str, Any]]:
    """A channel's permission overwrites."""
    return [
        {
            "id": str(o.target_id),
            "type": 1 if o.is_member else 0,
            "allow": str(o.allow),
            "deny": str(o.deny),
        }
        for o in channel.overwrites
    ]


def thread(record: FakeChannel) -> dict[str, Any]:
    """A public thread (type 11): what discord.py's ``Thread`` needs, parent and metadata."""
    return {
        "id": str(record.id),
        "type": PUBLIC_THREAD,
        "guild_id": str(record.guild_id),
        "parent_id": str(record.parent_id),
        "owner_id": str(record.owner_id),
        "name": record.name,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": len(record.messages),
        "total_message_sent": len(record.messages),
        "member_count": 1,
        "flags": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": _JOINED_AT,
            "locked": False,
            "create_timestamp": _JOINED_AT,
        },
    }


def channel(record: FakeChannel) -> dict[str, Any]:
    """A text channel (type 0), a public thread (type 11) or a DM channel (type 1)."""
    if record.is_thread:
        return thread(record)
    if record.guild_id is None:
        recipients = [user(record.recipient)] if record.recipient is not None else []
        return {"id": str(record.id), "type": 1, "recipients": recipients, "last_message_id": None}
    return {
        "id": str(record.id),
        "type": 0,
        "guild_id": str(record.guild_id),
        "name": record.name,
        "position": record.position,
        "permission_overwrites": overwrites(record),
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "rate_limit_per_user": 0,
        "last_message_id": None,
    }


def guild(record: FakeGuild, *, joined: bool = False) -> dict[str, Any]:
    """A full GUILD_CREATE payload: roles, channels and members included.

    ``joined``: the bot was just added, so there is no ``unavailable`` key (discord.py then
    dispatches ``guild_join`` rather than ``guild_available``).
    """
    data = {
        "id": str(record.id),
        "name": record.name,
        "owner_id": str(record.owner_id),
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "features": [],
        "unavailable": False,
        "large": False,
        "member_count": len(record.members),
        "preferred_locale": record.locale,
        "roles": [role(r) for r in record.roles],
        "channels": [channel(c) for c in record.channels],
        "members": [member(m) for m in record.members.values()],
        "emojis": [],
        "stickers": [],
        "threads": [thread(t) for t in record.threads],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "system_channel_flags": 0,
        "joined_at": _JOINED_AT,
    }
    if joined:
        del data["unavailable"]
    return data


def attachment(record: FakeAttachment) -> dict[str, Any]:
    """An attachment object whose URL serves the stored bytes."""
    return {
        "id": str(record.id),
        "filename": record.filename,
        "size": len(record.data),
        "url": record.url,
        "proxy_url": record.url,
        "content_type": record.content_type,
        "description": record.description,
    }


def message(record: FakeMessage) -> dict[str, Any]:
    """A message object."""
    data: dict[str, Any] = {
        "id": str(record.id),
        "channel_id": str(record.channel_id),
        "type": 0,
        "content": record.content,
        "author": user(record.author),
        "embeds": record.embeds,
        "components": record.components,
        "attachments": [attachment(a) for a in record.attachments],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "flags": record.flags,
        "timestamp": iso(record.created_at),
        "edited_timestamp": iso(record.edited_at) if record.edited_at is not None else None,
    }
    if record.guild_id is not None:
        data["guild_id"] = str(record.guild_id)
    if record.webhook_id is not None:
        data["webhook_id"] = str(record.webhook_id)
        data["application_id"] = str(record.webhook_id)
    return data


def error(code: int, message: str) -> dict[str, Any]:
    """Discord's JSON error body."""
    return {"code": code, "message": message}
