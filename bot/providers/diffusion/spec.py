"""What the provider asks the render worker for, and what it answers (plain, picklable data).

These records cross the process boundary between the bot and the worker process, so they
hold only builtins, bytes and ``ModelPreset``: no tensors, no torch types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.providers.diffusion.presets import ModelPreset


@dataclass(frozen=True, slots=True)
class WeightedText:
    """One concept and its weight (negative concepts carry their magnitude, > 0)."""

    text: str
    weight: float


class RenderMode(StrEnum):
    """How the images start: from noise, from an image (img2img), or outpainting."""

    TEXT = "text"
    IMAGE = "image"
    OUTPAINT = "outpaint"


@dataclass(frozen=True, slots=True)
class Canvas:
    """Outpainting: the init image padded by these many pixels, then rendered at ``size``."""

    left: int
    top: int
    right: int
    bottom: int


@dataclass(frozen=True, slots=True)
class RenderJob:
    """One render: ``len(seeds)`` images of ``width`` x ``height`` in one batch."""

    task_id: str
    preset: ModelPreset
    positive: tuple[WeightedText, ...]
    negative: tuple[WeightedText, ...]
    width: int
    height: int
    steps: int
    guidance: float
    seeds: tuple[int, ...]
    mode: RenderMode = RenderMode.TEXT
    stop_at: float = 1.0
    """Fraction of the steps to run (``--stop``); the current estimate is returned there."""
    chaos: float = 0.0
    """0 to 1: how far each image's conditioning is perturbed (``--chaos``)."""
    weird: float = 0.0
    """0 to 1: an unusual, seeded shift of the conditioning (``--weird``)."""
    tile: bool = False
    init_images: tuple[bytes, ...] = ()
    """Encoded images (PNG, JPEG, WebP): one for all images, or one per seed."""
    strength: float = 1.0
    """img2img / outpaint strength, 0 to 1."""
    canvas: Canvas | None = None
    style_images: tuple[bytes, ...] = ()
    """``--sref`` images for an IP-Adapter."""
    style_scale: float = 1.0


@dataclass(frozen=True, slots=True)
class RenderResult:
    """The finished images in seed order, as raw 8-bit RGB (``width * height * 3`` bytes each).

    Raw rather than PNG: the bot encodes them in its own process while the worker renders
    the next job, so encoding never holds up the device (4 PNGs of 256x256 took ~40 ms
    on a CPU core, the pipe hand-over of the raw bytes well under 1 ms).
    """

    pixels: tuple[bytes, ...]
    width: int
    height: int
    steps_run: int
    notes: tuple[str, ...] = field(default=())
    """Things the user should know (a parameter the model could not honour)."""
