"""Result download: through the outbound policy, under a byte cap, images only, made to fit.

Image hosts are third parties (Discord's CDN, a vendor's storage): the provider secret is
never sent to them. An image above ``max_bytes`` (Discord's upload limit) is re-encoded in a
thread (JPEG with falling quality, then smaller sizes) rather than failed.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
from collections.abc import Awaitable, Callable

import httpx

from bot.errors import (
    FailureKind,
    FetchError,
    FetchRefused,
    FetchTooLarge,
    FetchUnavailable,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
)
from bot.outbound import OutboundFetcher
from bot.providers.base import DownloadedImage
from bot.providers.imaging import shrink_to_fit

log = logging.getLogger(__name__)

_TOO_BIG = "The result image is larger than the bot accepts."


async def fetch_image(fetcher: OutboundFetcher, url: str, *, cap: int) -> tuple[bytes, str]:
    """The body and content type of an image URL, fetched under the outbound policy.

    The URL comes from the provider's answer, so it is fetched like any URL a member wrote:
    a private or loopback address, or a redirect to one, is refused.
    """
    try:
        resource = await fetcher.fetch(url, max_bytes=cap, accept=("image/",))
    except FetchRefused as exc:
        log.warning("result image address refused: %s", exc.message)
        raise ProviderRejected(
            "The image provider gave an image address that cannot be fetched.",
            kind=FailureKind.INVALID_REQUEST,
        ) from exc
    except FetchTooLarge:
        raise ProviderError(_TOO_BIG) from None
    except FetchUnavailable as exc:
        raise ProviderUnavailable("The image download failed; try again later.") from exc
    except FetchError as exc:
        if exc.status is None:
            raise ProviderError("The image provider sent something that is not an image.") from exc
        raise ProviderRejected(
            "The result image is no longer available at the image provider.",
            kind=FailureKind.PARENT_EXPIRED,
        ) from exc
    return resource.data, resource.content_type


def filename_for(url: str, content_type: str) -> str:
    """A file name for the attachment, from the URL's last path segment."""
    name = posixpath.basename(httpx.URL(url).path) or "image"
    stem, dot, extension = name.rpartition(".")
    if not dot or not extension.isalnum():
        extension = content_type.removeprefix("image/").replace("jpeg", "jpg") or "png"
        stem = name
    return f"{stem or 'image'}.{extension}"


Retrying = Callable[[Callable[[], Awaitable[tuple[bytes, str]]]], Awaitable[tuple[bytes, str]]]


async def download_image(
    fetcher: OutboundFetcher,
    url: str,
    *,
    max_bytes: int,
    hard_cap: int,
    retrying: Retrying,
) -> DownloadedImage:
    """Download ``url`` (retried by ``retrying``) and make it fit within ``max_bytes``."""
    data, content_type = await retrying(lambda: fetch_image(fetcher, url, cap=hard_cap))
    filename = filename_for(url, content_type)
    if len(data) <= max_bytes:
        return DownloadedImage(data=data, content_type=content_type, filename=filename)
    log.info("re-encoding a %d-byte result to fit %d bytes", len(data), max_bytes)
    smaller = await asyncio.to_thread(shrink_to_fit, data, max_bytes)
    stem = filename.rpartition(".")[0] or filename
    return DownloadedImage(data=smaller, content_type="image/jpeg", filename=f"{stem}.jpg")
