"""The optional notifyHook receiver: the provider POSTs task JSON, the dispatcher hears it.

A small aiohttp server bound to ``ProviderSettings.webhook_host``/``webhook_port``. The hook
path carries a random secret, so only a provider that was given the URL can post to it; any
other path answers 404. Delivery by the provider is best effort, so polling stays the
fallback: this only makes updates arrive sooner. The access log is off because the path
holds the secret.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.providers.base import TaskState
from bot.providers.midjourney.tasks import parse_task, provider_origin
from bot.settings import ProviderSettings

log = logging.getLogger(__name__)

Notify = Callable[[TaskState], Awaitable[None]]
HOOK_PREFIX = "/tessera/mj-hook/"


class WebhookReceiver:
    """Receives the provider's task callbacks and hands each ``TaskState`` to ``notify``."""

    def __init__(
        self, settings: ProviderSettings, notify: Notify, *, token: str | None = None
    ) -> None:
        if settings.webhook_host is None:
            raise ValueError("the webhook receiver needs provider.webhook_host")
        self._host = settings.webhook_host
        self._port = settings.webhook_port
        self._public_url = settings.webhook_public_url
        self._notify = notify
        self._origin = provider_origin(settings.base_url)
        self._token = token or secrets.token_urlsafe(24)
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None

    @property
    def url(self) -> str:
        """The hook URL to give the provider (secret included: never log it)."""
        if self._bound_port is None:
            raise RuntimeError("the webhook receiver is not started")
        root = self._public_url or f"http://{self._host}:{self._bound_port}"
        return f"{root.rstrip('/')}{HOOK_PREFIX}{self._token}"

    @property
    def port(self) -> int | None:
        """The port actually bound (useful when the setting is 0), or None before start."""
        return self._bound_port

    async def start(self) -> None:
        """Bind and serve."""
        app = web.Application()
        app.router.add_post(HOOK_PREFIX + "{token}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        addresses = self._runner.addresses
        self._bound_port = int(addresses[0][1]) if addresses else self._port
        log.info("notifyHook receiver listening on %s:%s", self._host, self._bound_port)

    async def aclose(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.match_info["token"], self._token):
            raise web.HTTPNotFound
        try:
            data = await request.json()
        except ValueError:
            return web.Response(status=400, text="body is not JSON")
        task = parse_task(data, origin=self._origin)
        if task is None:
            return web.Response(status=400, text="body is not a task")
        try:
            await self._notify(task)
        except Exception:
            # The provider would only drop the retry; polling will deliver this state anyway.
            log.exception("notifyHook callback failed for task %s", task.task_id)
            return web.Response(status=500, text="callback failed")
        return web.Response(text="ok")
