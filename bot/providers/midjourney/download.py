"""Result download: streamed under a byte cap, image types only, re-encoded to fit.

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

from bot.errors import FailureKind, ProviderError, ProviderRejected, ProviderUnavailable
from bot.providers.base import DownloadedImage
from bot.providers.imaging import shrink_to_fit

log = logging.getLogger(__name__)

_TOO_BIG = "The result image is larger than the bot accepts."


class _TooLarge(Exception):
    pass


async def fetch_image(
    client: httpx.AsyncClient, url: str, *, cap: int, time_limit: float
) -> tuple[bytes, str]:
    """The body and content type of an image URL; at most ``cap`` bytes are read."""
    try:
        async with (
            asyncio.timeout(time_limit),
            client.stream("GET", url, follow_redirects=True) as response,
        ):
            if response.status_code >= 500:
                raise ProviderUnavailable("The image host is unavailable; try again later.")
            if response.status_code != 200:
                raise ProviderRejected(
                    "The result image is no longer available at the image provider.",
                    kind=FailureKind.PARENT_EXPIRED,
                )
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if not content_type.startswith("image/"):
                raise ProviderError("The image provider sent something that is not an image.")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise _TooLarge
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise _TooLarge
                chunks.append(chunk)
            return b"".join(chunks), content_type
    except _TooLarge:
        raise ProviderError(_TOO_BIG) from None
    except TimeoutError as exc:
        raise ProviderUnavailable("The image download timed out; try again later.") from exc
    except httpx.HTTPError as exc:
        raise ProviderUnavailable("The image download failed; try again later.") from exc


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
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    hard_cap: int,
    time_limit: float,
    retrying: Retrying,
) -> DownloadedImage:
    """Download ``url`` (retried by ``retrying``) and make it fit within ``max_bytes``."""
    data, content_type = await retrying(
        lambda: fetch_image(client, url, cap=hard_cap, time_limit=time_limit)
    )
    filename = filename_for(url, content_type)
    if len(data) <= max_bytes:
        return DownloadedImage(data=data, content_type=content_type, filename=filename)
    log.info("re-encoding a %d-byte result to fit %d bytes", len(data), max_bytes)
    smaller = await asyncio.to_thread(shrink_to_fit, data, max_bytes)
    stem = filename.rpartition(".")[0] or filename
    return DownloadedImage(data=smaller, content_type="image/jpeg", filename=f"{stem}.jpg")
