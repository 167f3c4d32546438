"""FakeDiscord: the loopback server, its world, and the awaitable test API.

Usage::

    async with FakeDiscord(deadline=0.5) as fake:
        guild = fake.add_guild("Guild")
        channel = fake.add_channel(guild, "general")
        alice = fake.add_member(guild, "alice")
        ...  # start the bot with api_base=fake.api_base and token=fake.token
        record = await fake.invoke_slash(guild, channel, alice.user, "imagine", {"prompt": "cat"})
        callback = await record.response()

Time is loop time (``loop.time()``); deadlines and token lifetimes are constructor arguments
so tests can shorten them instead of sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.fakes.discord import payloads
from tests.fakes.discord.actions import InteractionActions
from tests.fakes.discord.gateway import GUILD_MESSAGES_INTENT, Gateway
from tests.fakes.discord.limits import EditBucket, InjectedLimit
from tests.fakes.discord.models import (
    FakeAttachment,
    FakeChannel,
    FakeGuild,
    FakeMessage,
    FakeUser,
    new_snowflake,
)
from tests.fakes.discord.rest import rest_routes
from tests.fakes.discord.webhooks import webhook_routes
from tests.fakes.discord.wire import DiscordError, RequestRecord, UploadedFile, logging_middleware
from tests.fakes.discord.world import WorldBuilding


class FakeDiscord(WorldBuilding, InteractionActions):
    """A Discord REST API + gateway on 127.0.0.1 that a real discord.py client can log in to."""

    def __init__(
        self,
        *,
        deadline: float = 3.0,
        token_ttl: float = 15 * 60.0,
        heartbeat_interval_ms: int = 5_000,
        token: str = "fake-bot-token",  # noqa: S107 - a fake's credential, known to the test
        bot_name: str = "Tessera",
        wait_bound: float = 10.0,
        upload_limit: int = 10 * 1024 * 1024,
    ) -> None:
        super().__init__()
        self.wait_bound = wait_bound
        """Longest any ``wait_*`` helper waits before failing (wrap a call in asyncio.timeout to
        wait less); it keeps a broken test from hanging until the pytest timeout."""
        self.deadline = deadline
        self.upload_limit = upload_limit
        """Largest file the bot may attach (sent as ``attachment_size_limit``); more is 413."""
        self.token_ttl = token_ttl
        self.token = token
        self.bot_user = FakeUser(new_snowflake(), bot_name, bot=True)
        self.application_id = self.bot_user.id
        self.app_owner = FakeUser(new_snowflake(), "app-owner")
        self.users: dict[int, FakeUser] = {self.bot_user.id: self.bot_user}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, FakeMessage] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        """Registered application commands: None holds the global ones."""
        self.requests: list[RequestRecord] = []
        self.injected: list[InjectedLimit] = []
        self.edit_buckets: dict[int, EditBucket] = {}
        self.nonces: dict[tuple[int, str], tuple[int, float]] = {}
        """(channel id, nonce) -> (message id, when): Discord's enforce_nonce memory."""
        self.recommended_shards = 1
        """The shard count ``GET /gateway/bot`` recommends."""
        self.lose_create_answers = 0
        """Knob: the next N channel message creates happen, then the answer is lost (the
        connection is cut), as when the bot dies or the network drops right after."""
        self.gateway = Gateway(self, heartbeat_interval_ms=heartbeat_interval_ms)
        self._waiters: list[asyncio.Future[None]] = []
        self._attachments: dict[int, FakeAttachment] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._skew = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[logging_middleware(self)], client_max_size=64 * 1024**2)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/attachments/{attachment_id}/{filename}", self._serve_attachment)
        app.router.add_routes(rest_routes(self))
        app.router.add_routes(webhook_routes(self))
        self._loop = asyncio.get_running_loop()
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """The REST root to hand to the bot (``discord.api_base``)."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def now(self) -> float:
        """The fake's clock: loop time, moved forward by ``advance``."""
        return asyncio.get_running_loop().time() + self._skew

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (past a deadline or a token's life) without sleeping."""
        self._skew += seconds
        self.changed()

    # -- waiting without sleeping ------------------------------------------------------------

    def changed(self) -> None:
        """Wake every waiter; called after each state change."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_until(self, predicate: Callable[[], Any]) -> Any:
        """Wait until ``predicate()`` is truthy; return its value.

        The predicate is re-checked after every change the fake sees (a request, a message, a
        gateway event), so it should read the fake's state; to wait on the bot's own state,
        await an event or future the bot sets.
        """
        async with asyncio.timeout(self.wait_bound):
            while not (value := predicate()):
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                await waiter
            return value

    async def wait_until_connected(self) -> None:
        """Wait until a client has identified (READY sent) and holds an open socket."""
        await self.wait_until(lambda: self.gateway.connected)

    async def wait_for_message(
        self,
        channel: FakeChannel,
        predicate: Callable[[FakeMessage], bool] | None = None,
    ) -> FakeMessage:
        """The first message (existing or future) in ``channel`` that matches ``predicate``."""

        def find() -> FakeMessage | None:
            return next((m for m in channel.messages if predicate is None or predicate(m)), None)

        found: FakeMessage = await self.wait_until(find)
        return found

    async def wait_for_edit(
        self,
        message: FakeMessage,
        predicate: Callable[[FakeMessage], bool] | None = None,
    ) -> FakeMessage:
        """Wait until ``message`` was edited and matches ``predicate`` (default: any edit)."""
        check = predicate or (lambda m: m.edit_count > 0)
        await self.wait_until(lambda: message.edit_count > 0 and check(message))
        return message

    def requests_to(self, method: str, route: str) -> list[RequestRecord]:
        """Logged requests for one route template, e.g. "/channels/{channel_id}/messages"."""
        return [r for r in self.requests if r.method == method and r.route == route]

    # -- faults ------------------------------------------------------------------------------

    def inject_rate_limit(
        self,
        method: str,
        route: str,
        *,
        count: int = 1,
        retry_after: float = 0.05,
        is_global: bool = False,
        where: Callable[[dict[str, str]], bool] | None = None,
    ) -> InjectedLimit:
        """The next ``count`` matching requests answer 429 with ``retry_after``."""
        limit = InjectedLimit(method, route, count, retry_after, is_global, where)
        self.injected.append(limit)
        return limit

    def limit_edits(self, channel: FakeChannel, *, limit: int = 5, per: float = 5.0) -> EditBucket:
        """Rate-limit message edits in ``channel`` (X-RateLimit headers, then 429)."""
        bucket = EditBucket(limit, per, bucket=f"edit-{channel.id}")
        self.edit_buckets[channel.id] = bucket
        return bucket

    def delete_message(self, message: FakeMessage) -> None:
        """Delete a message as a user would; later edits answer 404 10008."""
        message.deleted = True
        data = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        self._announce(
            "MESSAGE_DELETE", lambda: data, intent=GUILD_MESSAGES_INTENT, guild_id=message.guild_id
        )
        self.changed()

    async def drop_gateway(self) -> None:
        """Close the gateway sockets; discord.py reconnects and RESUMEs."""
        await self.gateway.drop()

    # -- messages ----------------------------------------------------------------------------

    def create_message(
        self,
        channel: FakeChannel,
        author: FakeUser,
        body: dict[str, Any],
        files: list[UploadedFile],
        *,
        webhook_id: int | None = None,
        interaction_id: int | None = None,
        flags: int = 0,
    ) -> FakeMessage:
        self._check_uploads(files)
        message = FakeMessage(
            id=new_snowflake(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=author,
            webhook_id=webhook_id,
            interaction_id=interaction_id,
            created_at=time.time(),
        )
        # Flags (ephemeral, loading) are fixed at creation; edits leave them alone.
        message.flags = int(body.get("flags") or 0) | flags
        self._apply(message, body, files)
        channel.messages.append(message)
        self.messages[message.id] = message
        self._announce(
            "MESSAGE_CREATE",
            lambda: payloads.message(message),
            intent=GUILD_MESSAGES_INTENT,
            guild_id=message.guild_id,
        )
        self.changed()
        return message

    def edit_message(
        self, message: FakeMessage, body: dict[str, Any], files: list[UploadedFile]
    ) -> None:
        message.history.append(message.snapshot())
        self._apply(message, body, files)
        message.edit_count += 1
        message.edited_at = time.time()
        self._announce(
            "MESSAGE_UPDATE",
            lambda: payloads.message(message),
            intent=GUILD_MESSAGES_INTENT,
            guild_id=message.guild_id,
        )
        self.changed()

    def _check_uploads(self, files: list[UploadedFile]) -> None:
        if any(len(f.data) > self.upload_limit for f in files):
            raise DiscordError(413, 40005, "Request entity too large")

    def _apply(self, message: FakeMessage, body: dict[str, Any], files: list[UploadedFile]) -> None:
        for key in ("content", "embeds", "components"):
            if key in body:
                setattr(
                    message,
                    key,
                    body[key] if body[key] is not None else type(getattr(message, key))(),
                )
        uploaded = {f.index: f for f in files}
        if "attachments" in body:
            kept: list[FakeAttachment] = []
            existing = {a.id: a for a in message.attachments}
            for item in body["attachments"] or []:
                item_id = int(item["id"])
                if item_id in existing:
                    kept.append(existing[item_id])
                elif item_id in uploaded:
                    kept.append(self._store_upload(uploaded.pop(item_id), item.get("description")))
            message.attachments = kept
        message.attachments.extend(self._store_upload(f, None) for f in uploaded.values())

    def _store_upload(self, upload: UploadedFile, description: str | None) -> FakeAttachment:
        attachment = self.add_attachment(upload.filename, upload.data, upload.content_type)
        attachment.description = description
        return attachment

    async def _serve_attachment(self, request: web.Request) -> web.Response:
        attachment = self._attachments.get(int(request.match_info["attachment_id"]))
        if attachment is None:
            raise web.HTTPNotFound
        return web.Response(body=attachment.data, content_type=attachment.content_type)

    async def flush_dispatches(self) -> None:
        """Wait until every announced gateway event has been written to the sockets."""
        # Taken out of the set before waiting: their done callbacks need a loop turn that
        # Python 3.12's eager gather() of finished tasks never yields, so waiting on "the set
        # is empty" spun forever there.
        while self._tasks:
            tasks = list(self._tasks)
            self._tasks.difference_update(tasks)
            await asyncio.gather(*tasks)

    def _announce(
        self,
        event: str,
        build: Callable[[], dict[str, Any]],
        *,
        intent: int = 0,
        guild_id: int | None = None,
    ) -> None:
        """Dispatch ``event`` to the sessions of ``guild_id``'s shard (in a task: callers are
        synchronous)."""
        if self._loop is None or not self.gateway.connected:
            return
        # The loop the server runs on: a synchronous fixture may call this outside it.
        dispatch = self.gateway.dispatch(event, build(), intent=intent, guild_id=guild_id)
        task = self._loop.create_task(dispatch)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
