"""Small Pillow helpers shared by the planner and the engine (no torch)."""

from __future__ import annotations

import io

from PIL import Image


def decode_rgb(data: bytes) -> Image.Image:
    """An encoded image (PNG, JPEG, WebP) as an RGB Pillow image."""
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def encode_png(image: Image.Image) -> bytes:
    """``image`` as PNG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def resized_png(data: bytes, size: tuple[int, int]) -> bytes:
    """The encoded image ``data`` resized to ``size`` with Lanczos, as RGB PNG bytes."""
    return encode_png(decode_rgb(data).resize(size, Image.Resampling.LANCZOS))
