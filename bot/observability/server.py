"""The optional HTTP endpoint for operators: ``GET /metrics`` and ``GET /healthz`` (aiohttp)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.observability.health import HealthCheck, HealthStatus
from bot.observability.metrics import EXPOSITION_CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

Refresh = Callable[[], Awaitable[None]]


class ObservabilityServer:
    """Serves the runtime's metrics and health check on one host and port."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        metrics: Metrics,
        health_check: HealthCheck,
        refresh: Refresh | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._metrics = metrics
        self._health_check = health_check
        self._refresh = refresh
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None

    def application(self) -> web.Application:
        """The aiohttp application (tests drive it with aiohttp's test client)."""
        app = web.Application()
        app.router.add_get("/metrics", self._serve_metrics)
        app.router.add_get("/healthz", self._serve_health)
        return app

    @property
    def port(self) -> int:
        """The port actually bound (useful when configured as 0)."""
        if self._bound_port is None:
            raise RuntimeError("the observability server is not started")
        return self._bound_port

    async def start(self) -> None:
        """Bind and serve; returns once the socket is listening."""
        runner = web.AppRunner(self.application(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        sockets = [s for s in runner.addresses if isinstance(s, tuple)]
        self._bound_port = int(sockets[0][1]) if sockets else self._port
        log.info("metrics and health endpoint on http://%s:%d", self._host, self._bound_port)

    async def close(self) -> None:
        """Stop serving; safe to call when not started."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._bound_port = None

    async def _serve_metrics(self, request: web.Request) -> web.Response:
        if self._refresh is not None:
            try:
                await self._refresh()
            except Exception:
                # Stale gauges beat a failed scrape; the counters are still current.
                log.warning("metrics refresh failed; serving the last values", exc_info=True)
        return web.Response(
            body=self._metrics.exposition(),
            headers={"Content-Type": EXPOSITION_CONTENT_TYPE},
        )

    async def _serve_health(self, request: web.Request) -> web.Response:
        try:
            status = await self._health_check()
        except Exception as exc:
            log.warning("the health check raised", exc_info=True)
            status = HealthStatus((f"health check failed: {type(exc).__name__}",))
        body = (
            {"status": "ok"}
            if status.healthy
            else {
                "status": "unavailable",
                "reasons": list(status.reasons),
            }
        )
        return web.Response(
            status=200 if status.healthy else 503,
            text=json.dumps(body),
            content_type="application/json",
        )
