"""HTTP plumbing shared by the fake's REST and webhook routes: bodies, responses, errors."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from tests.fakes.discord import payloads
from tests.fakes.discord.limits import RATE_LIMIT_HEADERS_429

if TYPE_CHECKING:
    from tests.fakes.discord.server import FakeDiscord


@dataclass(frozen=True)
class UploadedFile:
    """One ``files[n]`` part of a multipart request."""

    field: str
    filename: str
    data: bytes
    content_type: str

    @property
    def index(self) -> int:
        return int(self.field.removeprefix("files[").removesuffix("]"))


@dataclass
class RequestRecord:
    """One request the fake received (the raw request log)."""

    method: str
    path: str
    route: str
    """The route template, e.g. "/channels/{channel_id}/messages"."""
    params: dict[str, str]
    body: dict[str, Any] | list[Any] | None
    files: list[UploadedFile] = field(default_factory=list)
    authorized: bool = False
    at: float = 0.0
    status: int = 0


class DiscordError(Exception):
    """Raised by a handler to answer with Discord's JSON error body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message


def respond(
    data: Any = None, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response whose Content-Type is exactly ``application/json``.

    aiohttp's ``json_response`` appends ``; charset=utf-8``, and discord.py then treats the
    body as text, so the header is set by hand.
    """
    if data is None and status == 204:
        return web.Response(status=204, headers=headers)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def error_response(exc: DiscordError, headers: dict[str, str] | None = None) -> web.Response:
    """Discord's error body for ``exc``."""
    return respond(payloads.error(exc.code, exc.message), status=exc.status, headers=headers)


async def read_body(
    request: web.Request,
) -> tuple[dict[str, Any] | list[Any] | None, list[UploadedFile]]:
    """The JSON body, or ``payload_json`` and the files of a multipart body."""
    if request.method in ("GET", "DELETE", "HEAD") or not request.can_read_body:
        return None, []
    if request.content_type.startswith("multipart/"):
        body: dict[str, Any] | None = None
        files: list[UploadedFile] = []
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            name = part.name or ""
            raw = await part.read()
            if name == "payload_json":
                body = json.loads(bytes(raw))
            elif name.startswith("files["):
                content_type = part.headers.get("Content-Type", "application/octet-stream")
                files.append(UploadedFile(name, part.filename or name, bytes(raw), content_type))
        return body, files
    text = await request.text()
    return (json.loads(text) if text else None), []


API_PREFIX = "/api/v10"
RECORD = web.RequestKey("fake_discord_record", RequestRecord)


def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object (``payload_json`` for multipart), or an empty one."""
    body = request[RECORD].body
    return body if isinstance(body, dict) else {}


def list_body(request: web.Request) -> list[Any]:
    """The request's JSON array (bulk command overwrite), or an empty one."""
    body = request[RECORD].body
    return body if isinstance(body, list) else []


def files_of(request: web.Request) -> list[UploadedFile]:
    """The files uploaded with the request."""
    return request[RECORD].files


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def logging_middleware(fake: FakeDiscord) -> Any:
    """Log every request, check the bot token, parse bodies and apply injected 429s."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        canonical = resource.canonical if resource is not None else request.path
        if not canonical.startswith(API_PREFIX):
            return await handler(request)
        route = canonical.removeprefix(API_PREFIX)
        body, files = await read_body(request)
        record = RequestRecord(
            method=request.method,
            path=request.path_qs,
            route=route,
            params=dict(request.match_info),
            body=body,
            files=files,
            authorized=request.headers.get("Authorization") == f"Bot {fake.token}",
            at=fake.now(),
        )
        fake.requests.append(record)
        request[RECORD] = record
        response = await _answer(fake, request, record, handler)
        record.status = response.status
        fake.changed()
        return response

    return middleware


async def _answer(
    fake: FakeDiscord, request: web.Request, record: RequestRecord, handler: Handler
) -> web.StreamResponse:
    # Interaction callbacks and webhooks authenticate with their token, not the bot's.
    needs_bot_token = not record.route.startswith(("/webhooks/", "/interactions/"))
    if needs_bot_token and not record.authorized:
        return error_response(DiscordError(401, 0, "401: Unauthorized"))
    for limit in fake.injected:
        if limit.matches(record.method, record.route, record.params):
            limit.remaining -= 1
            limit.hits += 1
            body = {
                "message": "You are being rate limited.",
                "retry_after": limit.retry_after,
                "global": limit.is_global,
                "code": 0,
            }
            headers = {**RATE_LIMIT_HEADERS_429, "Retry-After": str(max(int(limit.retry_after), 1))}
            return respond(body, status=429, headers=headers)
    try:
        return await handler(request)
    except DiscordError as exc:
        return error_response(exc)
