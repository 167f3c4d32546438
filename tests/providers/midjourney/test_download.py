"""Result download: type and size checks, streaming cap, re-encoding to fit, retries."""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator

import httpx
import pytest
from PIL import Image

from bot.errors import FailureKind, ProviderError, ProviderRejected
from bot.outbound import OutboundFetcher, OutboundPolicy
from bot.providers.midjourney.download import filename_for, shrink_to_fit
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy, png_bytes
from tests.providers.midjourney.conftest import ProviderFactory


def noisy_png(side: int) -> bytes:
    rng = random.Random(7)
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def test_grid_image_downloads_as_is_when_small(
    fake: FakeMidjourneyProxy, make_provider: ProviderFactory
) -> None:
    fake.images["grid.png"] = (png_bytes(), "image/png")
    provider = make_provider(fake.base_url)
    image = await provider.download(f"{fake.root_url}/images/grid.png", max_bytes=1_000_000)
    assert image.data == png_bytes()
    assert (image.content_type, image.filename) == ("image/png", "grid.png")


async def test_relative_url_is_resolved_against_the_provider(
    fake: FakeMidjourneyProxy, make_provider: ProviderFactory
) -> None:
    fake.images["rel.png"] = (png_bytes(), "image/png")
    provider = make_provider(fake.base_url)
    image = await provider.download("/images/rel.png", max_bytes=1_000_000)
    assert image.filename == "rel.png"


async def test_large_image_is_reencoded_to_fit(
    fake: FakeMidjourneyProxy, make_provider: ProviderFactory
) -> None:
    original = noisy_png(512)
    fake.images["big.png"] = (original, "image/png")
    provider = make_provider(fake.base_url)
    image = await provider.download(f"{fake.root_url}/images/big.png", max_bytes=60_000)
    assert len(original) > 60_000
    assert len(image.data) <= 60_000
    assert (image.content_type, image.filename) == ("image/jpeg", "big.jpg")
    assert Image.open(io.BytesIO(image.data)).format == "JPEG"


@pytest.mark.parametrize(
    ("name", "body", "content_type", "error", "kind"),
    [
        ("page.png", b"<html></html>", "text/html", ProviderError, FailureKind.PROVIDER_ERROR),
        ("gone.png", None, None, ProviderRejected, FailureKind.PARENT_EXPIRED),
    ],
)
async def test_download_refusals(
    fake: FakeMidjourneyProxy,
    make_provider: ProviderFactory,
    name: str,
    body: bytes | None,
    content_type: str | None,
    error: type[ProviderError],
    kind: FailureKind,
) -> None:
    if body is not None and content_type is not None:
        fake.images[name] = (body, content_type)
    provider = make_provider(fake.base_url)
    with pytest.raises(error) as caught:
        await provider.download(f"{fake.root_url}/images/{name}", max_bytes=1_000_000)
    assert caught.value.kind is kind


async def test_declared_size_over_the_hard_cap_is_refused_before_reading(
    fake: FakeMidjourneyProxy, make_provider: ProviderFactory
) -> None:
    fake.images["huge.png"] = (noisy_png(256), "image/png")
    provider = make_provider(fake.base_url, max_download_bytes=10_000)
    with pytest.raises(ProviderError, match="larger"):
        await provider.download(f"{fake.root_url}/images/huge.png", max_bytes=5_000)


async def test_undeclared_stream_is_cut_at_the_hard_cap(make_provider: ProviderFactory) -> None:
    read = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal read
        for _ in range(1000):
            read += 4096
            yield b"\0" * 4096

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "image/png"}, content=endless())

    provider_cap = 50_000
    fetcher = OutboundFetcher(OutboundPolicy(["img.test"]), transport=httpx.MockTransport(handler))
    provider = make_provider(
        "http://proxy.test/mj", fetcher=fetcher, max_download_bytes=provider_cap
    )
    try:
        with pytest.raises(ProviderError, match="larger"):
            await provider.download("http://img.test/x.png", max_bytes=provider_cap)
    finally:
        await fetcher.aclose()
    assert read < provider_cap + 3 * 4096


async def test_result_images_on_private_addresses_are_refused(
    fake: FakeMidjourneyProxy, make_provider: ProviderFactory
) -> None:
    # Issue #11: the proxy's answer names the image, so it is fetched like a member's URL.
    fake.images["grid.png"] = (png_bytes(), "image/png")
    provider = make_provider(fake.base_url, outbound=OutboundPolicy())
    for url in (
        f"{fake.root_url}/images/grid.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:10.0.0.1]/x.png",
    ):
        with pytest.raises(ProviderRejected, match="cannot be fetched"):
            await provider.download(url, max_bytes=1_000_000)
    assert fake.count("/images/") == 0


async def test_a_result_redirect_to_a_private_address_is_not_followed(
    make_provider: ProviderFactory,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "http://10.1.2.3/secret.png"})

    fetcher = OutboundFetcher(OutboundPolicy(["cdn.test"]), transport=httpx.MockTransport(handler))
    provider = make_provider("http://proxy.test/mj", fetcher=fetcher)
    try:
        with pytest.raises(ProviderRejected, match="cannot be fetched"):
            await provider.download("http://cdn.test/x.png", max_bytes=1_000_000)
    finally:
        await fetcher.aclose()


async def test_image_host_errors_are_retried(
    fake: FakeMidjourneyProxy, make_provider: ProviderFactory
) -> None:
    fake.images["flaky.png"] = (png_bytes(), "image/png")
    fake.fail_next(2, status=503, path="/images/")
    provider = make_provider(fake.base_url)
    image = await provider.download(f"{fake.root_url}/images/flaky.png", max_bytes=1_000_000)
    assert image.data == png_bytes()


@pytest.mark.parametrize(
    ("url", "content_type", "expected"),
    [
        ("https://cdn.test/a/b/grid_0.png?ex=1", "image/png", "grid_0.png"),
        ("https://cdn.test/a/noext", "image/jpeg", "noext.jpg"),
        ("https://cdn.test/", "image/webp", "image.webp"),
    ],
)
def test_filename_for(url: str, content_type: str, expected: str) -> None:
    assert filename_for(url, content_type) == expected


def test_unreadable_image_is_an_error() -> None:
    with pytest.raises(ProviderError, match="cannot read"):
        shrink_to_fit(b"not an image", 100)


def test_image_that_cannot_shrink_enough_is_an_error() -> None:
    with pytest.raises(ProviderError, match="larger"):
        shrink_to_fit(noisy_png(300), 100)
