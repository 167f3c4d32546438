"""Interaction records and the INTERACTION_CREATE payloads the fake pushes to the bot."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.discord import payloads
from tests.fakes.discord.models import (
    FakeAttachment,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    new_snowflake,
)

SLASH, COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
EPHEMERAL = 1 << 6
# Option types of application command options (Discord's ApplicationCommandOptionType).
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 10, 11


@dataclass
class InteractionCallback:
    """What the bot answered on ``POST /interactions/{id}/{token}/callback``."""

    type: int
    data: dict[str, Any]
    latency: float
    """Seconds between the INTERACTION_CREATE and the callback arriving (loop time)."""
    accepted: bool
    """False when the fake refused it (late: 10062, or already acknowledged: 40060)."""
    error_code: int | None = None

    @property
    def ephemeral(self) -> bool:
        return bool(int(self.data.get("flags") or 0) & EPHEMERAL)

    @property
    def content(self) -> str:
        return str(self.data.get("content") or "")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.data.get("embeds") or [])


@dataclass(eq=False)
class InteractionRecord:
    """One interaction the fake sent, and everything the bot did with it."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    created_at: float
    guild: FakeGuild | None
    channel: FakeChannel
    user: FakeUser
    source_message: FakeMessage | None = None
    callbacks: list[InteractionCallback] = field(default_factory=list)
    original: FakeMessage | None = None
    followups: list[FakeMessage] = field(default_factory=list)
    wait_bound: float = 10.0
    webhook_errors: list[int] = field(default_factory=list)
    """Discord error codes the fake answered on this interaction's webhook routes."""
    _first: asyncio.Future[InteractionCallback] | None = None

    @property
    def late(self) -> bool:
        """True when the first callback arrived after the deadline (10062)."""
        return any(c.error_code == 10062 for c in self.callbacks)

    @property
    def acknowledged(self) -> bool:
        return any(c.accepted for c in self.callbacks)

    def record_callback(self, callback: InteractionCallback) -> None:
        self.callbacks.append(callback)
        if self._first is not None and not self._first.done():
            self._first.set_result(callback)

    async def response(self) -> InteractionCallback:
        """The bot's first callback, accepted or not; waits for it (bounded by ``wait_bound``)."""
        if self._first is None:
            self._first = asyncio.get_running_loop().create_future()
            if self.callbacks:
                self._first.set_result(self.callbacks[0])
        async with asyncio.timeout(self.wait_bound):
            return await asyncio.shield(self._first)


def new_token() -> str:
    """An interaction token (opaque, URL-safe)."""
    return "fake-" + secrets.token_urlsafe(24)


def _option_type(value: Any) -> int:
    # bool before int: bool is a subclass of int.
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, FakeUser | FakeMember):
        return USER
    if isinstance(value, FakeRole):
        return ROLE
    if isinstance(value, FakeChannel):
        return CHANNEL
    if isinstance(value, FakeAttachment):
        return ATTACHMENT
    return STRING


def build_options(
    options: Mapping[str, Any] | Sequence[dict[str, Any]] | None,
    guild: FakeGuild | None,
    focused: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Command options (types inferred from Python values) and their ``resolved`` data."""
    if options is None:
        return [], {}
    if not isinstance(options, Mapping):
        return [dict(o) for o in options], {}
    built: list[dict[str, Any]] = []
    resolved: dict[str, dict[str, Any]] = {}
    for name, value in options.items():
        kind = _option_type(value)
        wire: Any = value
        if isinstance(value, FakeUser | FakeMember):
            found = guild.members.get(value.id) if guild is not None else None
            the_user = value.user if isinstance(value, FakeMember) else value
            wire = str(the_user.id)
            resolved.setdefault("users", {})[wire] = payloads.user(the_user)
            if found is not None:
                partial = payloads.member(found)
                partial.pop("user")
                resolved.setdefault("members", {})[wire] = partial
        elif isinstance(value, FakeRole):
            wire = str(value.id)
            resolved.setdefault("roles", {})[wire] = payloads.role(value)
        elif isinstance(value, FakeChannel):
            wire = str(value.id)
            resolved.setdefault("channels", {})[wire] = {
                **payloads.channel(value),
                "permissions": "0",
            }
        elif isinstance(value, FakeAttachment):
            wire = str(value.id)
            resolved.setdefault("attachments", {})[wire] = payloads.attachment(value)
        option: dict[str, Any] = {"name": name, "type": kind, "value": wire}
        if name == focused:
            option["focused"] = True
        built.append(option)
    return built, resolved


def command_data(
    command: str,
    command_id: int,
    options: list[dict[str, Any]],
    resolved: dict[str, Any],
    guild: FakeGuild | None,
) -> dict[str, Any]:
    """``data`` of a chat-input command; "group sub" words become nested option layers."""
    root, *path = command.split()
    nested = options
    for depth, name in enumerate(reversed(path)):
        kind = SUB_COMMAND if depth == 0 else SUB_COMMAND_GROUP
        nested = [{"name": name, "type": kind, "options": nested}]
    data: dict[str, Any] = {"id": str(command_id), "name": root, "type": 1, "options": nested}
    if resolved:
        data["resolved"] = resolved
    if guild is not None:
        data["guild_id"] = str(guild.id)
    return data


def interaction_payload(
    *,
    interaction_id: int,
    token: str,
    kind: int,
    application_id: int,
    data: dict[str, Any],
    guild: FakeGuild | None,
    channel: FakeChannel,
    user: FakeUser,
    user_permissions: int,
    app_permissions: int,
    upload_limit: int,
    message: FakeMessage | None = None,
) -> dict[str, Any]:
    """A complete INTERACTION_CREATE payload as Discord sends it (API v10, discord.py 2.7)."""
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(application_id),
        "type": kind,
        "data": data,
        "token": token,
        "version": 1,
        "channel_id": str(channel.id),
        "channel": {**payloads.channel(channel), "permissions": str(user_permissions)},
        "app_permissions": str(app_permissions),
        "locale": user.locale,
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild.id)} if guild else {},
        "context": 0 if guild is not None else 1,
        "attachment_size_limit": upload_limit,
    }
    if guild is not None:
        payload["guild_id"] = str(guild.id)
        payload["guild_locale"] = guild.locale
        payload["guild"] = {"id": str(guild.id), "locale": guild.locale, "features": []}
        payload["member"] = payloads.member(guild.members[user.id], permissions=user_permissions)
    else:
        payload["user"] = payloads.user(user)
    if message is not None:
        payload["message"] = payloads.message(message)
    return payload


def new_interaction_id() -> int:
    """A fresh interaction id."""
    return new_snowflake()
