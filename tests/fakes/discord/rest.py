"""REST routes under /api/v10 that a bot token may call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from aiohttp import web

from tests.fakes.discord import payloads
from tests.fakes.discord.models import FakeChannel, FakeMessage, new_snowflake
from tests.fakes.discord.wire import (
    API_PREFIX,
    DiscordError,
    files_of,
    json_body,
    list_body,
    respond,
)

if TYPE_CHECKING:
    from tests.fakes.discord.server import FakeDiscord

_SEND = discord.Permissions(view_channel=True, send_messages=True).value
# In a thread Discord checks Send Messages in Threads instead of Send Messages.
_SEND_IN_THREAD = discord.Permissions(view_channel=True, send_messages_in_threads=True).value
_ATTACH = discord.Permissions.attach_files.flag
_EMBED = discord.Permissions.embed_links.flag


def rest_routes(fake: FakeDiscord) -> list[web.RouteDef]:
    """The bot-token routes, bound to ``fake``."""
    api = _Rest(fake)
    p = API_PREFIX
    return [
        web.get(f"{p}/gateway/bot", api.gateway_bot),
        web.get(f"{p}/gateway", api.gateway_bot),
        web.get(f"{p}/users/@me", api.me),
        web.get(f"{p}/oauth2/applications/@me", api.application),
        web.get(f"{p}/applications/@me", api.application),
        web.get(f"{p}/users/{{user_id}}", api.get_user),
        web.post(f"{p}/users/@me/channels", api.open_dm),
        web.get(f"{p}/guilds/{{guild_id}}", api.get_guild),
        web.get(f"{p}/guilds/{{guild_id}}/channels", api.guild_channels),
        web.get(f"{p}/guilds/{{guild_id}}/roles", api.guild_roles),
        web.get(f"{p}/guilds/{{guild_id}}/members/{{user_id}}", api.get_member),
        web.get(f"{p}/channels/{{channel_id}}", api.get_channel),
        web.post(f"{p}/channels/{{channel_id}}/messages", api.post_message),
        web.get(f"{p}/channels/{{channel_id}}/messages", api.history),
        web.get(f"{p}/channels/{{channel_id}}/messages/{{message_id}}", api.get_message),
        web.patch(f"{p}/channels/{{channel_id}}/messages/{{message_id}}", api.patch_message),
        web.delete(f"{p}/channels/{{channel_id}}/messages/{{message_id}}", api.delete_message),
        web.get(f"{p}/applications/{{application_id}}/commands", api.get_commands),
        web.put(f"{p}/applications/{{application_id}}/commands", api.put_commands),
        web.get(
            f"{p}/applications/{{application_id}}/guilds/{{guild_id}}/commands", api.get_commands
        ),
        web.put(
            f"{p}/applications/{{application_id}}/guilds/{{guild_id}}/commands", api.put_commands
        ),
    ]


def _id(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise DiscordError(400, 50035, f"Invalid Form Body ({name})") from None


NONCE_WINDOW = 5 * 60.0
"""How long Discord remembers an enforced nonce ("a few minutes")."""


class _Rest:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    async def gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        shards = self.fake.recommended_shards
        return respond(
            {"url": self.fake.gateway_url, "shards": shards, "session_start_limit": limit}
        )

    async def me(self, request: web.Request) -> web.Response:
        return respond(payloads.user(self.fake.bot_user))

    async def application(self, request: web.Request) -> web.Response:
        fake = self.fake
        return respond(
            {
                "id": str(fake.application_id),
                "name": fake.bot_user.name,
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": payloads.user(fake.app_owner),
                "verify_key": "0" * 64,
                "flags": 0,
                "team": None,
                "summary": "",
                "rpc_origins": [],
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "bot": payloads.user(fake.bot_user),
            }
        )

    async def get_user(self, request: web.Request) -> web.Response:
        user = self.fake.users.get(_id(request, "user_id"))
        if user is None:
            raise DiscordError(404, 10013, "Unknown User")
        return respond(payloads.user(user))

    async def open_dm(self, request: web.Request) -> web.Response:
        body = json_body(request)
        user = self.fake.users.get(int(body.get("recipient_id", 0)))
        if user is None:
            raise DiscordError(404, 10013, "Unknown User")
        existing = next((c for c in self.fake.channels.values() if c.recipient is user), None)
        channel = existing or FakeChannel(new_snowflake(), user.name, None, recipient=user)
        self.fake.channels[channel.id] = channel
        return respond(payloads.channel(channel))

    def _guild(self, request: web.Request) -> Any:
        guild = self.fake.guilds.get(_id(request, "guild_id"))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        return guild

    async def get_guild(self, request: web.Request) -> web.Response:
        return respond(payloads.guild(self._guild(request)))

    async def guild_channels(self, request: web.Request) -> web.Response:
        return respond([payloads.channel(c) for c in self._guild(request).channels])

    async def guild_roles(self, request: web.Request) -> web.Response:
        return respond([payloads.role(r) for r in self._guild(request).roles])

    async def get_member(self, request: web.Request) -> web.Response:
        member = self._guild(request).members.get(_id(request, "user_id"))
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return respond(payloads.member(member))

    def _channel(self, request: web.Request) -> FakeChannel:
        channel = self.fake.channels.get(_id(request, "channel_id"))
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        return channel

    def _message(self, request: web.Request) -> FakeMessage:
        channel = self._channel(request)
        message = self.fake.messages.get(_id(request, "message_id"))
        # Ephemeral messages exist only behind their interaction's webhook, as on Discord.
        if (
            message is None
            or message.deleted
            or message.ephemeral
            or message.channel_id != channel.id
        ):
            raise DiscordError(404, 10008, "Unknown Message")
        return message

    async def get_channel(self, request: web.Request) -> web.Response:
        return respond(payloads.channel(self._channel(request)))

    async def post_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body: dict[str, Any] = json_body(request)
        needed = (
            (_SEND_IN_THREAD if channel.is_thread else _SEND)
            | (_ATTACH if files_of(request) else 0)
            | (_EMBED if body.get("embeds") else 0)
        )
        if self.fake.bot_permissions(channel) & needed != needed:
            raise DiscordError(403, 50013, "Missing Permissions")
        nonce = body.get("nonce")
        key = (channel.id, str(nonce))
        if nonce is not None and body.get("enforce_nonce"):
            # As Discord: a repeat create with the same nonce within minutes gets the first.
            seen = self.fake.nonces.get(key)
            recent = seen is not None and self.fake.now() - seen[1] < NONCE_WINDOW
            if recent and seen and (earlier := self.fake.messages.get(seen[0])) is not None:
                return respond(payloads.message(earlier))
        message = self.fake.create_message(channel, self.fake.bot_user, body, files_of(request))
        if nonce is not None and body.get("enforce_nonce"):
            self.fake.nonces[key] = (message.id, self.fake.now())
        if self.fake.lose_create_answers > 0 and request.transport is not None:
            self.fake.lose_create_answers -= 1
            request.transport.abort()
        return respond(payloads.message(message))

    async def history(self, request: web.Request) -> web.Response:
        """``GET /channels/{id}/messages?after=&limit=``: the ``limit`` messages right after
        ``after``, newest first, as Discord answers (``before`` is not served)."""
        channel = self._channel(request)
        after = int(request.query.get("after", "0"))
        limit = max(1, min(100, int(request.query.get("limit", "50"))))
        shown = [m for m in channel.messages if m.id > after and not m.deleted and not m.ephemeral]
        shown.sort(key=lambda m: m.id)
        return respond([payloads.message(m) for m in reversed(shown[:limit])])

    async def get_message(self, request: web.Request) -> web.Response:
        return respond(payloads.message(self._message(request)))

    async def patch_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if message.author is not self.fake.bot_user:
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        bucket = self.fake.edit_buckets.get(message.channel_id)
        now = self.fake.now()
        if bucket is not None:
            wait = bucket.retry_after(now)
            if wait:
                bucket.rejected += 1
                headers = {**bucket.headers(now), "Via": "1.1 google", "X-RateLimit-Scope": "user"}
                body = {
                    "message": "You are being rate limited.",
                    "retry_after": wait,
                    "global": False,
                }
                return respond(body, status=429, headers=headers)
            bucket.take(now)
        self.fake.edit_message(message, json_body(request), files_of(request))
        announced = bucket.headers(now) if bucket is not None else None
        return respond(payloads.message(message), headers=announced)

    async def delete_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        self.fake.delete_message(message)
        return respond(status=204)

    async def get_commands(self, request: web.Request) -> web.Response:
        guild_id = int(request.match_info["guild_id"]) if "guild_id" in request.match_info else None
        return respond(self.fake.commands.get(guild_id, []))

    async def put_commands(self, request: web.Request) -> web.Response:
        guild_id = int(request.match_info["guild_id"]) if "guild_id" in request.match_info else None
        registered = []
        for command in list_body(request):
            registered.append(
                {
                    "type": 1,
                    "description": "",
                    "default_member_permissions": None,
                    **command,
                    "id": str(new_snowflake()),
                    "application_id": str(self.fake.application_id),
                    "version": str(new_snowflake()),
                    **({"guild_id": str(guild_id)} if guild_id is not None else {}),
                }
            )
        self.fake.commands[guild_id] = registered
        return respond(registered)
