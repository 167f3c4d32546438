"""The outbound URL policy: which URLs and addresses may be fetched on a member's behalf.

Everything fetched because of what a member wrote or what a provider answered (image
prompts, result images) goes through one ``OutboundPolicy``: http(s) only, no credentials in
the URL, and a host whose every resolved address is public. ``allowed_hosts`` (the
``[outbound] allowed_hosts`` setting) names hosts exempt from the address rules: a private
image CDN, or ``127.0.0.1`` for the test suite's loopback fakes. An allowed host is compared
as written in the URL (lower case), so ``127.0.0.1`` allows that literal address only.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from bot.errors import FetchRefused
from bot.outbound.hosts import (
    host_names,
    literal_address,
    normalise_host,
    refused_address,
    refused_host,
)

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""Resolves a host name and port to the addresses a connection may use."""

SCHEMES = frozenset({"http", "https"})


async def system_resolver(host: str, port: int) -> list[str]:
    """The system resolver (``getaddrinfo``), without blocking the event loop."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise FetchRefused(f"The host {host} could not be found.") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


WEB_PORTS = (80, 443, 8080, 8443)
"""Ports a member's URL may name; an operator's allowed host may use any."""


class OutboundPolicy:
    """Judges URLs (syntax) and hosts (every resolved address) before any byte is sent."""

    def __init__(
        self,
        allowed_hosts: Iterable[str] = (),
        *,
        resolve: Resolver = system_resolver,
        ports: Iterable[int] | None = WEB_PORTS,
    ) -> None:
        # None: any port (tests whose loopback servers listen on a free port).
        self.ports = None if ports is None else frozenset(ports)
        self.allowed_hosts = host_names(allowed_hosts)
        self._resolve = resolve

    def is_allowed(self, host: str) -> bool:
        """Whether the operator exempted this host from the address rules."""
        return normalise_host(host) in self.allowed_hosts

    def check_url(self, url: str) -> str:
        """The URL's host, or ``FetchRefused`` naming what is wrong with the URL as written."""
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
            _ = parts.port  # a port that is not a number raises here
        except ValueError as exc:
            raise FetchRefused("The address is not a valid URL.") from exc
        if parts.scheme.lower() not in SCHEMES:
            raise FetchRefused("Only http:// and https:// addresses can be fetched.")
        if parts.username is not None or parts.password is not None:
            raise FetchRefused("Addresses with a user name or password are not fetched.")
        reason = refused_host(host, self.allowed_hosts)
        if reason is not None:
            raise FetchRefused(f"The address {url[:80]} is not fetched: {reason}.")
        port = parts.port
        if port is not None and self.ports is not None and port not in self.ports:
            if self.is_allowed(host):
                return host  # the operator's own host: any port
            # Images live on web ports: any other would let prompts probe other services.
            raise FetchRefused(
                f"The address {url[:80]} is not fetched: port {port} is not a web port."
            )
        return host

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses a connection to ``host`` may use; ``FetchRefused`` if ANY is not public.

        Refusing when any address is bad (not only the first) closes the trick of a name with
        one public and one private record.
        """
        if self.is_allowed(host):
            literal = literal_address(host)
            return [str(literal)] if literal is not None else await self._resolve(host, port)
        literal = literal_address(host)
        found = [str(literal)] if literal is not None else await self._resolve(host, port)
        if not found:
            raise FetchRefused(f"The host {host} could not be found.")
        for text in found:
            address = literal_address(text.partition("%")[0])  # drop an IPv6 zone id
            reason = "not an address" if address is None else refused_address(address)
            if reason is not None:
                raise FetchRefused(f"The host {host} leads to a {reason} address; not fetched.")
        return found
