"""Small Pillow helpers shared by the planner and the engine (no torch)."""

from __future__ import annotations

import io

from PIL import Image, ImageFilter


def decode_rgb(data: bytes) -> Image.Image:
    """An encoded image (PNG, JPEG, WebP) as an RGB Pillow image."""
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def from_rgb(data: bytes, size: tuple[int, int]) -> Image.Image:
    """Raw 8-bit RGB rows (a ``RenderResult``'s pixels) of ``size`` as a Pillow image."""
    return Image.frombytes("RGB", size, data)


def encode_png(image: Image.Image) -> bytes:
    """``image`` as PNG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def resized_png(data: bytes, size: tuple[int, int]) -> bytes:
    """The encoded image ``data`` resized to ``size`` with Lanczos, as RGB PNG bytes."""
    return encode_png(decode_rgb(data).resize(size, Image.Resampling.LANCZOS))


def outpaint_canvas(
    init: Image.Image, pads: tuple[int, int, int, int], size: tuple[int, int]
) -> tuple[Image.Image, Image.Image]:
    """The init image on a larger canvas, and the mask of the new area, both at ``size``.

    ``pads`` are the left, top, right and bottom margins in the init image's pixels. The
    margins start as the image stretched over the whole canvas and blurred: the model then
    continues its colours instead of starting from flat grey. The mask is white (repaint)
    on the margins, black (keep) over the image.
    """
    left, top, right, bottom = pads
    full = (init.width + left + right, init.height + top + bottom)
    background = init.resize(full, Image.Resampling.BILINEAR).filter(
        ImageFilter.GaussianBlur(radius=max(full) / 16)
    )
    background.paste(init, (left, top))
    mask = Image.new("L", full, 255)
    mask.paste(0, (left, top, left + init.width, top + init.height))
    return (
        background.resize(size, Image.Resampling.LANCZOS),
        mask.resize(size, Image.Resampling.NEAREST),
    )
