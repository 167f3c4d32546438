"""The one HTTP connection pool to the provider, with timeouts, retries and the circuit.

Every call to the proxy goes through ``ProxyHttp.call``: network failures and 5xx answers
become ``ProviderUnavailable`` here (``raise ... from exc``), so no httpx type travels
further. Idempotent calls are retried with jittered back-off; a call that is not idempotent
(a submit) is retried only when it provably never reached the server (connection refused,
connect timeout), and otherwise raises ``OutcomeUnknown``: the dispatcher asks the provider
for the task by its job id later, after the submit's own time limit, before trying again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bot.errors import ProviderError, ProviderUnavailable, SubmitOutcomeUnknown
from bot.providers.midjourney.circuit import UNAVAILABLE_MESSAGE, CircuitBreaker
from bot.providers.midjourney.codes import MALFORMED_MESSAGE
from bot.providers.midjourney.retry import RetryPolicy
from bot.settings import ProviderSettings

log = logging.getLogger(__name__)

POOL_SIZE = 20
"""Connections kept to the provider: polling is batched, so a few carry all the traffic."""
KEEPALIVE_SECONDS = 30.0
Sleep = Callable[[float], Awaitable[None]]
CallObserver = Callable[[str, float, str | None], None]
"""Told of every HTTP attempt: operation, seconds, and the failure kind (None on success)."""
_TASK_ID_SEGMENT = re.compile(r"^task/[^/]+/(fetch|cancel|image-seed)$")


class OutcomeUnknown(SubmitOutcomeUnknown):
    """A submit reached the proxy (or may have) but no usable answer came back."""


@dataclass(frozen=True)
class Reply:
    """An HTTP answer below 500: its status and its decoded body (JSON, text or None)."""

    status: int
    body: Any

    @property
    def missing_endpoint(self) -> bool:
        """The server does not have this route (an older or smaller server)."""
        return self.status in (404, 405) and not isinstance(self.body, dict)


def build_client(
    settings: ProviderSettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The shared client: explicit timeouts, a bounded keep-alive pool, no auth by default."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.request_timeout, connect=settings.connect_timeout),
        limits=httpx.Limits(
            max_connections=POOL_SIZE,
            max_keepalive_connections=POOL_SIZE,
            keepalive_expiry=KEEPALIVE_SECONDS,
        ),
        transport=transport,
        # A redirect would carry the mj-api-secret header to wherever it points.
        follow_redirects=False,
    )


def _decode(response: httpx.Response) -> Any:
    content = response.content
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except ValueError:
        if response.status_code >= 400:
            return response.text
        raise


class ProxyHttp:
    """Calls to the proxy's API over one shared ``httpx.AsyncClient``."""

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        retry: RetryPolicy | None = None,
        observe: CallObserver | None = None,
    ) -> None:
        self._owns_client = client is None
        self._observe = observe
        self.client = client if client is not None else build_client(settings, transport)
        self.base_url = settings.base_url.rstrip("/")
        self.breaker = CircuitBreaker(
            threshold=settings.circuit_failure_threshold,
            reset_seconds=settings.circuit_reset_seconds,
            clock=clock,
        )
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.retry = retry or RetryPolicy()
        # Sent only to the proxy, never to image hosts: downloads use no such header.
        secret = settings.api_secret.get_secret_value() if settings.api_secret else None
        self._headers = {"mj-api-secret": secret} if secret else {}

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        idempotent: bool,
        base_url: str | None = None,
    ) -> Reply:
        """One API call; raises ``ProviderUnavailable`` (or ``OutcomeUnknown``) on failure."""
        url = f"{base_url or self.base_url}/{path.lstrip('/')}"
        operation = operation_name(path)
        attempt = 0
        while True:
            attempt += 1
            self.breaker.before_call()
            started = time.perf_counter()
            try:
                reply = await self._send(method, url, body)
            except _Failure as failure:
                self._record(operation, started, failure.kind)
                self.breaker.record_failure()
                give_up = (
                    attempt >= self.retry.attempts
                    or (failure.reached and not idempotent)
                    or self.breaker.is_open
                )
                if give_up:
                    error_type = OutcomeUnknown if failure.reached and not idempotent else None
                    raise (error_type or ProviderUnavailable)(failure.message) from failure.cause
                await self.sleep(self.retry.delay(attempt, self.rng))
                continue
            self._record(operation, started, "auth" if reply.status in (401, 403) else None)
            self.breaker.record_success()
            if reply.status in (401, 403):
                raise ProviderError(
                    "The image provider refused the bot's credentials; "
                    "an operator must check the provider secret."
                )
            return reply

    def _record(self, operation: str, started: float, error_kind: str | None) -> None:
        if self._observe is not None:
            self._observe(operation, time.perf_counter() - started, error_kind)

    async def _send(self, method: str, url: str, body: Any) -> Reply:
        try:
            response = await self.client.request(method, url, json=body, headers=self._headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _Failure(UNAVAILABLE_MESSAGE, exc, reached=False) from exc
        except httpx.HTTPError as exc:
            log.warning("provider call %s %s failed: %s", method, _path(url), type(exc).__name__)
            raise _Failure(UNAVAILABLE_MESSAGE, exc, reached=True) from exc
        if response.status_code >= 500:
            log.warning("provider answered %s to %s %s", response.status_code, method, _path(url))
            raise _Failure(UNAVAILABLE_MESSAGE, None, reached=True)
        if response.is_redirect:
            # Usually http vs https in provider.base_url; not followed (the secret would go too).
            log.warning("provider redirected %s %s; check provider.base_url", method, _path(url))
            raise _Failure(UNAVAILABLE_MESSAGE, None, reached=True)
        try:
            return Reply(response.status_code, _decode(response))
        except ValueError as exc:
            log.warning("provider sent unreadable JSON to %s %s", method, _path(url))
            raise _Failure(MALFORMED_MESSAGE, exc, reached=True, kind="malformed") from exc

    async def aclose(self) -> None:
        """Close the pool if this object created it."""
        if self._owns_client:
            await self.client.aclose()


def operation_name(path: str) -> str:
    """A low-cardinality name for a call: task ids folded into ``{id}`` (metrics labels)."""
    path = path.strip("/")
    match = _TASK_ID_SEGMENT.match(path)
    return f"task/{{id}}/{match[1]}" if match else path


def _path(url: str) -> str:
    # Logged without scheme and host: vendor URLs sometimes embed keys in the host part.
    return httpx.URL(url).path


class _Failure(Exception):
    def __init__(
        self,
        message: str,
        cause: BaseException | None,
        *,
        reached: bool,
        kind: str = "unavailable",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause
        self.reached = reached
        self.kind = kind
