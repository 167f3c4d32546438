"""The fetcher over real sockets: a loopback aiohttp server stands in for image hosts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from bot.errors import FetchError, FetchRefused, FetchTooLarge, FetchUnavailable
from bot.outbound import OutboundFetcher, OutboundPolicy

PNG = b"\x89PNG\r\n\x1a\n" + b"x" * 100


class Host:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.port = 0
        self.redirect_to = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.path, request.headers.get("host", "")))
        if request.path == "/redirect":
            raise web.HTTPFound(self.redirect_to)
        if request.path == "/big":
            return web.Response(body=b"x" * 5000, content_type="image/png")
        if request.path == "/chunked":
            response = web.StreamResponse(headers={"content-type": "image/png"})
            await response.prepare(request)
            for _ in range(5):
                await response.write(b"x" * 1000)
            await response.write_eof()
            return response
        if request.path == "/text":
            return web.Response(text="hello")
        if request.path == "/missing":
            raise web.HTTPNotFound
        return web.Response(body=PNG, content_type="image/png")


@pytest.fixture
async def host() -> AsyncIterator[Host]:
    state = Host()
    app = web.Application()
    app.router.add_get("/{tail:.*}", state.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = int(runner.addresses[0][1])
    yield state
    await runner.cleanup()


def table(mapping: dict[str, list[list[str]]]):  # type: ignore[no-untyped-def]
    """A resolver answering each name's lists in turn (the last one repeats)."""

    async def resolve(name: str, port: int) -> list[str]:
        answers = mapping[name]
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return resolve


@pytest.fixture
async def loopback_allowed() -> AsyncIterator[OutboundFetcher]:
    fetcher = OutboundFetcher(OutboundPolicy(["127.0.0.1"]), time_limit=5)
    yield fetcher
    await fetcher.aclose()


async def test_loopback_is_refused_by_default_and_nothing_is_sent(host: Host) -> None:
    fetcher = OutboundFetcher(OutboundPolicy())
    try:
        with pytest.raises(FetchRefused):
            await fetcher.fetch(f"http://127.0.0.1:{host.port}/a.png", max_bytes=10_000)
    finally:
        await fetcher.aclose()
    assert host.seen == []


async def test_an_allowed_host_is_fetched(host: Host, loopback_allowed: OutboundFetcher) -> None:
    url = f"http://127.0.0.1:{host.port}/a.png"
    got = await loopback_allowed.fetch(url, max_bytes=10_000, accept=("image/",))
    assert (got.data, got.content_type, got.final_url) == (PNG, "image/png", url)


async def test_a_redirect_to_a_refused_host_is_not_followed(
    host: Host, loopback_allowed: OutboundFetcher
) -> None:
    host.redirect_to = f"http://localhost:{host.port}/a.png"
    with pytest.raises(FetchRefused):
        await loopback_allowed.fetch(f"http://127.0.0.1:{host.port}/redirect", max_bytes=10_000)
    assert [path for path, _ in host.seen] == ["/redirect"]


async def test_a_redirect_to_the_metadata_address_is_not_followed(
    host: Host, loopback_allowed: OutboundFetcher
) -> None:
    host.redirect_to = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(FetchRefused):
        await loopback_allowed.fetch(f"http://127.0.0.1:{host.port}/redirect", max_bytes=10_000)


async def test_an_allowed_redirect_is_followed(
    host: Host, loopback_allowed: OutboundFetcher
) -> None:
    host.redirect_to = "/a.png"
    got = await loopback_allowed.fetch(f"http://127.0.0.1:{host.port}/redirect", max_bytes=10_000)
    assert got.final_url == f"http://127.0.0.1:{host.port}/a.png"


async def test_dns_rebinding_is_caught_at_connect_time(host: Host) -> None:
    # Public for the check before the request, loopback for the connection: refused.
    resolve = table({"rebind.example": [["93.184.216.34"], ["127.0.0.1"]]})
    fetcher = OutboundFetcher(OutboundPolicy(resolve=resolve, ports=None))
    try:
        with pytest.raises(FetchRefused, match="loopback"):
            await fetcher.fetch(f"http://rebind.example:{host.port}/a.png", max_bytes=10_000)
    finally:
        await fetcher.aclose()
    assert host.seen == []


async def test_the_socket_goes_to_the_checked_address_with_the_host_name_kept(
    host: Host,
) -> None:
    resolve = table({"cdn.example": [["127.0.0.1"]]})
    fetcher = OutboundFetcher(OutboundPolicy(["cdn.example"], resolve=resolve, ports=None))
    try:
        got = await fetcher.fetch(f"http://cdn.example:{host.port}/a.png", max_bytes=10_000)
    finally:
        await fetcher.aclose()
    assert got.data == PNG
    assert host.seen == [("/a.png", f"cdn.example:{host.port}")]


@pytest.mark.parametrize("path", ["/big", "/chunked"])
async def test_bodies_are_capped(host: Host, loopback_allowed: OutboundFetcher, path: str) -> None:
    with pytest.raises(FetchTooLarge):
        await loopback_allowed.fetch(f"http://127.0.0.1:{host.port}{path}", max_bytes=1000)


async def test_a_wrong_type_and_a_404_are_final(
    host: Host, loopback_allowed: OutboundFetcher
) -> None:
    with pytest.raises(FetchError, match="not an image") as wrong:
        await loopback_allowed.fetch(
            f"http://127.0.0.1:{host.port}/text", max_bytes=1000, accept=("image/",)
        )
    with pytest.raises(FetchError) as missing:
        await loopback_allowed.fetch(f"http://127.0.0.1:{host.port}/missing", max_bytes=1000)
    assert not wrong.value.retryable
    assert (missing.value.status, missing.value.retryable) == (404, False)


async def test_a_mock_transport_is_still_under_the_policy() -> None:
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})

    resolve = table({"img.example": [["10.0.0.1"]]})
    fetcher = OutboundFetcher(
        OutboundPolicy(resolve=resolve, ports=None), transport=httpx.MockTransport(answer)
    )
    try:
        with pytest.raises(FetchRefused):
            await fetcher.fetch("https://img.example/a.png", max_bytes=1000)
    finally:
        await fetcher.aclose()
    assert sent == []


async def test_a_refused_connection_is_retryable() -> None:
    fetcher = OutboundFetcher(OutboundPolicy(["127.0.0.1"]))
    try:
        with pytest.raises(FetchUnavailable):
            await fetcher.fetch("http://127.0.0.1:1/a.png", max_bytes=1000)
    finally:
        await fetcher.aclose()
