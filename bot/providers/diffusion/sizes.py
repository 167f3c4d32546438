"""Render sizes: aspect ratios at a model's native pixel count, snapped to what models take."""

from __future__ import annotations

import math

GRID = 64
"""Sides of text-to-image renders are multiples of this (8 latent pixels of 8x VAEs)."""
LATENT = 8
"""Any render side must be a multiple of this (one latent pixel)."""
MAX_SIDE_FACTOR = 2
"""The long side is at most this times the model's native long side (``--ar 10:1``)."""
MAX_PIXEL_FACTOR = 4
"""Upscales and pans render at most this times the model's native pixel count."""


def snap(value: float, step: int = GRID) -> int:
    """``value`` rounded to the nearest multiple of ``step``, and at least ``step``."""
    return max(step, round(value / step) * step)


def parse_ratio(ar: str) -> tuple[int, int]:
    """The two positive integers of a ``W:H`` text."""
    width, _, height = ar.partition(":")
    return int(width), int(height)


def size_for_ratio(ar: str, native: tuple[int, int], *, scale: float = 1.0) -> tuple[int, int]:
    """Width and height with the ratio ``ar`` at ``native``'s pixel count times ``scale``².

    Sides snap to multiples of 64; very long ratios are clamped so the long side stays within
    ``MAX_SIDE_FACTOR`` times the native long side (the short side then follows the ratio,
    never below 64). At 512x512, ``16:9`` gives 704x384.
    """
    ratio_w, ratio_h = parse_ratio(ar)
    ratio = ratio_w / ratio_h
    pixels = native[0] * native[1] * scale * scale
    width, height = math.sqrt(pixels * ratio), math.sqrt(pixels / ratio)
    longest = MAX_SIDE_FACTOR * max(native) * scale
    if max(width, height) > longest:
        shrink = longest / max(width, height)
        width, height = width * shrink, height * shrink
    return snap(width), snap(height)


def fit_pixels(width: float, height: float, max_pixels: int, step: int) -> tuple[int, int]:
    """``width`` x ``height`` scaled down to at most ``max_pixels``, sides multiples of ``step``."""
    if width * height > max_pixels:
        shrink = math.sqrt(max_pixels / (width * height))
        width, height = width * shrink, height * shrink
    # Flooring keeps the result under the cap that rounding could cross.
    return max(step, int(width // step) * step), max(step, int(height // step) * step)
