"""Image bytes handed to Discord: re-encoding a result that is larger than the upload limit."""

from __future__ import annotations

import io
import warnings

from PIL import Image

from bot.errors import ProviderError

JPEG_QUALITIES = (90, 80, 70, 60, 50)
SHRINK_FACTOR = 0.75
SMALLEST_SIDE = 256
_TOO_BIG = "The result image is larger than the bot accepts."


def shrink_to_fit(data: bytes, max_bytes: int) -> bytes:
    """JPEG bytes of the image within ``max_bytes``: falling quality, then smaller sizes."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (OSError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ProviderError("The image provider sent an image the bot cannot read.") from exc
    rgb = image.convert("RGB")
    while True:
        for quality in JPEG_QUALITIES:
            buffer = io.BytesIO()
            rgb.save(buffer, format="JPEG", quality=quality, optimize=True)
            if buffer.tell() <= max_bytes:
                return buffer.getvalue()
        width, height = rgb.size
        if min(width, height) * SHRINK_FACTOR < SMALLEST_SIDE:
            raise ProviderError(_TOO_BIG)
        rgb = rgb.resize((int(width * SHRINK_FACTOR), int(height * SHRINK_FACTOR)))
