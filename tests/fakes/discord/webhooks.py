"""Interaction callbacks and the interaction webhook (followups, ``@original``).

These routes carry no Authorization header: the interaction token is the credential. The
fake enforces Discord's two clocks: the first callback must come within ``deadline`` seconds
(else 404 10062), and the token works for ``token_ttl`` seconds (else 401 50027).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from aiohttp import web

from tests.fakes.discord import payloads
from tests.fakes.discord.interactions import InteractionCallback, InteractionRecord
from tests.fakes.discord.models import FakeMessage
from tests.fakes.discord.wire import (
    API_PREFIX,
    DiscordError,
    files_of,
    json_body,
    respond,
)

if TYPE_CHECKING:
    from tests.fakes.discord.server import FakeDiscord

CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
_LOADING = discord.MessageFlags.loading.flag
_EPHEMERAL = discord.MessageFlags.ephemeral.flag


def webhook_routes(fake: FakeDiscord) -> list[web.RouteDef]:
    """The token-authenticated routes, bound to ``fake``."""
    hooks = _Webhooks(fake)
    p = API_PREFIX
    base = f"{p}/webhooks/{{application_id}}/{{token}}"
    return [
        web.post(f"{p}/interactions/{{interaction_id}}/{{token}}/callback", hooks.callback),
        web.post(base, hooks.followup),
        web.get(f"{base}/messages/{{message_id}}", hooks.get_message),
        web.patch(f"{base}/messages/{{message_id}}", hooks.edit_message),
        web.delete(f"{base}/messages/{{message_id}}", hooks.delete_message),
    ]


class _Webhooks:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    async def callback(self, request: web.Request) -> web.Response:
        fake = self.fake
        record = fake.interactions.get(int(request.match_info["interaction_id"]))
        if record is None or record.token != request.match_info["token"]:
            raise DiscordError(404, 10062, "Unknown interaction")
        body: dict[str, Any] = json_body(request)
        kind, data = int(body.get("type", 0)), body.get("data") or {}
        latency = fake.now() - record.created_at

        def refuse(status: int, code: int, message: str) -> DiscordError:
            record.record_callback(InteractionCallback(kind, data, latency, False, code))
            fake.changed()
            return DiscordError(status, code, message)

        if record.acknowledged:
            raise refuse(400, 40060, "Interaction has already been acknowledged.")
        if latency > fake.deadline:
            raise refuse(404, 10062, "Unknown interaction")
        try:
            message = self._apply_callback(record, kind, data, files_of(request))
        except DiscordError as exc:
            raise refuse(exc.status, exc.code, exc.message) from None
        record.record_callback(InteractionCallback(kind, data, latency, True))
        fake.changed()
        answer: dict[str, Any] = {
            "interaction": {
                "id": str(record.id),
                "type": record.type,
                "response_message_id": str(message.id) if message else None,
                "response_message_loading": bool(message and message.loading),
                "response_message_ephemeral": bool(message and message.ephemeral),
            }
        }
        if message is not None:
            answer["resource"] = {"type": kind, "message": payloads.message(message)}
        return respond(answer)

    def _apply_callback(
        self, record: InteractionRecord, kind: int, data: dict[str, Any], files: list[Any]
    ) -> FakeMessage | None:
        fake = self.fake
        if kind in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            flags = int(data.get("flags") or 0)
            if kind == DEFERRED_CHANNEL_MESSAGE:
                flags |= _LOADING
            record.original = fake.create_message(
                record.channel,
                fake.bot_user,
                {**data, "flags": flags},
                files,
                webhook_id=fake.application_id,
                interaction_id=record.id,
            )
            return record.original
        if kind in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            if record.source_message is None:
                raise DiscordError(400, 40004, "Interaction has no message to update")
            record.original = record.source_message
            if kind == UPDATE_MESSAGE:
                fake.edit_message(record.original, data, files)
            return record.original
        if kind in (AUTOCOMPLETE_RESULT, MODAL):
            return None
        raise DiscordError(400, 50035, f"Invalid interaction response type {kind}")

    def _record(self, request: web.Request) -> InteractionRecord:
        """The interaction behind a webhook token, if the token is still valid."""
        fake = self.fake
        record = fake.interactions_by_token.get(request.match_info["token"])
        if record is None or int(request.match_info["application_id"]) != fake.application_id:
            raise DiscordError(404, 10015, "Unknown Webhook")
        if fake.now() - record.created_at > fake.token_ttl:
            record.webhook_errors.append(50027)
            fake.changed()
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        if not record.acknowledged:
            record.webhook_errors.append(10015)
            raise DiscordError(404, 10015, "Unknown Webhook")
        return record

    def _target(self, request: web.Request, record: InteractionRecord) -> FakeMessage:
        key = request.match_info["message_id"]
        if key == "@original":
            message = record.original
        else:
            candidates = [m for m in record.followups if str(m.id) == key]
            if record.original is not None and str(record.original.id) == key:
                candidates.append(record.original)
            message = candidates[0] if candidates else None
        if message is None or message.deleted:
            record.webhook_errors.append(10008)
            raise DiscordError(404, 10008, "Unknown Message")
        return message

    async def followup(self, request: web.Request) -> web.Response:
        record = self._record(request)
        body: dict[str, Any] = json_body(request)
        original = record.original
        if original is not None and original.loading and not record.followups:
            # Discord turns the first followup after a deferral into the deferred message.
            self.fake.edit_message(
                original, {**body, "flags": original.flags & ~_LOADING}, files_of(request)
            )
            original.flags &= ~_LOADING
            record.followups.append(original)
            return respond(payloads.message(original))
        message = self.fake.create_message(
            record.channel,
            self.fake.bot_user,
            body,
            files_of(request),
            webhook_id=self.fake.application_id,
            interaction_id=record.id,
        )
        record.followups.append(message)
        return respond(payloads.message(message))

    async def get_message(self, request: web.Request) -> web.Response:
        record = self._record(request)
        return respond(payloads.message(self._target(request, record)))

    async def edit_message(self, request: web.Request) -> web.Response:
        record = self._record(request)
        message = self._target(request, record)
        self.fake.edit_message(message, json_body(request), files_of(request))
        message.flags &= ~_LOADING
        return respond(payloads.message(message))

    async def delete_message(self, request: web.Request) -> web.Response:
        record = self._record(request)
        self.fake.delete_message(self._target(request, record))
        return respond(status=204)
