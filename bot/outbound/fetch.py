"""``OutboundFetcher``: GET a URL on a member's behalf under the outbound policy.

Every hop of a redirect chain is judged by the policy, and every TCP connection goes to an
address the policy has just resolved and checked (a guarded httpcore network backend), so a
name that resolves to a public address for the check and to a private one for the connect
(DNS rebinding) gets nowhere. TLS still verifies the certificate for the host name in the
URL, and ``Host`` is that name: only the address the socket opens to is pinned. Bodies are
read under a byte cap and the whole fetch, redirects included, under one time limit.

    fetcher = OutboundFetcher(OutboundPolicy(settings.outbound.allowed_hosts))
    resource = await fetcher.fetch(url, max_bytes=10_000_000, accept=("image/",))
    await fetcher.aclose()
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from bot.errors import FetchError, FetchRefused, FetchTooLarge, FetchUnavailable
from bot.outbound.policy import OutboundPolicy

log = logging.getLogger(__name__)

REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "Tessera image fetcher"


@dataclass(frozen=True)
class FetchedResource:
    """A fetched body, its media type (lower case, no parameters) and the URL it came from."""

    data: bytes
    content_type: str
    final_url: str


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the policy accepts."""

    def __init__(
        self, policy: OutboundPolicy, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve, check every address, then open the socket to a checked address."""
        addresses = await self._policy.addresses(host, port)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"no address to connect to for {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: a member's URL cannot reach a local socket."""
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        """The inner backend's sleep."""
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport whose connection pool uses ``GuardedBackend``; no proxy, no env."""

    def __init__(self, policy: OutboundPolicy, *, limits: httpx.Limits | None = None) -> None:
        super().__init__(trust_env=False)
        limits = limits or httpx.Limits(max_connections=20, max_keepalive_connections=5)
        # httpx has no public hook for the network backend, so the pool is built again with
        # it (httpx's own defaults otherwise); tests/outbound pins that this stays in force.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )


class OutboundFetcher:
    """GETs URLs under an ``OutboundPolicy``; raises ``bot.errors.FetchError`` subclasses.

    ``transport`` replaces the guarded transport (tests with ``httpx.MockTransport``); the URL
    and every redirect are still checked, and every host resolved, by the policy.
    """

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        time_limit: float = 30.0,
        connect_timeout: float = 10.0,
        max_redirects: int = 5,
    ) -> None:
        self.policy = policy
        self._time_limit = time_limit
        self._max_redirects = max_redirects
        self._client = httpx.AsyncClient(
            transport=transport or GuardedTransport(policy),
            timeout=httpx.Timeout(time_limit, connect=connect_timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": USER_AGENT},
        )

    async def fetch(
        self, url: str, *, max_bytes: int, accept: tuple[str, ...] = ()
    ) -> FetchedResource:
        """GET ``url`` (following checked redirects); at most ``max_bytes`` bytes are read.

        ``accept`` lists media type prefixes (``("image/",)``); another type is refused
        before its body is read. Raises ``FetchRefused``, ``FetchTooLarge``,
        ``FetchUnavailable`` (retryable) or ``FetchError`` (4xx, wrong type).
        """
        try:
            async with asyncio.timeout(self._time_limit):
                return await self._follow(url, max_bytes, accept)
        except TimeoutError as exc:
            raise FetchUnavailable("The download took too long.") from exc
        except httpx.HTTPError as exc:
            raise FetchUnavailable("The download failed; try again later.") from exc

    async def _follow(self, url: str, max_bytes: int, accept: tuple[str, ...]) -> FetchedResource:
        for _ in range(self._max_redirects + 1):
            host = self.policy.check_url(url)
            parsed = httpx.URL(url)
            if not self.policy.is_allowed(host):
                # Checked here too, so that an injected transport is no way around the policy.
                await self.policy.addresses(host, parsed.port or _default_port(parsed.scheme))
            async with self._client.stream("GET", url) as response:
                self._client.cookies.clear()  # nothing set by one host travels to the next
                location = response.headers.get("location")
                if response.status_code in REDIRECTS and location:
                    url = str(response.url.join(location))
                    continue
                return await _read(response, max_bytes, accept)
        raise FetchRefused(f"The address redirected more than {self._max_redirects} times.")

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


async def _read(
    response: httpx.Response, max_bytes: int, accept: tuple[str, ...]
) -> FetchedResource:
    status = response.status_code
    if status >= 500 or status == 429:
        raise FetchUnavailable(f"The host answered {status}; try again later.", status=status)
    if status != 200:
        raise FetchError(f"The host answered {status}.", status=status)
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if accept and not content_type.startswith(accept):
        raise FetchError(f"The address holds {content_type or 'an unknown type'}, not an image.")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchTooLarge(f"The file is larger than {max_bytes} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchTooLarge(f"The file is larger than {max_bytes} bytes.")
        chunks.append(chunk)
    return FetchedResource(
        data=b"".join(chunks), content_type=content_type, final_url=str(response.url)
    )
