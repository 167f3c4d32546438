"""The planner: a parsed prompt (and a button press) as one ``RenderJob`` for the engine.

Pure Python (no torch): the bot plans in its own process and sends the job to the worker.
Every parameter the model cannot honour comes back as a short note for the user.

Parameter to control:

- ``--ar``: size at the preset's native pixel count, sides multiples of 64 (``sizes``).
- ``--seed S``: four images with seeds S, S+1, S+2, S+3.
- segments: positive weights to ``positive``; negative weights and ``--no`` items (-0.5) to
  ``negative`` with their magnitude.
- ``--chaos c``: ``chaos = c / 100``; ``--weird w``: ``weird = w / 3000``.
- ``--stylize s``: ``guidance = preset.guidance * (100 / max(s, 1)) ** 0.25``, clamped to
  ``[1, 2 * preset.guidance]``; ``--raw`` multiplies it by ``RAW_GUIDANCE`` (0.85).
- ``--quality q``: ``steps = round(base * q)``, at least 1.
- ``--draft``: half the steps (at least 1) and 0.75 of each side (snapped to 64).
- ``--stop p``: ``stop_at = p / 100``; ``--tile``: ``tile``.
- image prompts: img2img with ``strength = clamp(1 - 0.3 * iw, 0.15, 0.95)``.
- ``--sref`` URLs: the style images the caller downloaded, ``style_scale = min(sw / 100, 1.5)``.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from bot.model import Action
from bot.prompt import Prompt
from bot.providers.diffusion import pictures
from bot.providers.diffusion.presets import ModelPreset
from bot.providers.diffusion.sizes import (
    GRID,
    LATENT,
    MAX_PIXEL_FACTOR,
    fit_pixels,
    size_for_ratio,
    snap,
)
from bot.providers.diffusion.spec import Canvas, RenderJob, RenderMode, WeightedText

GRID_SIZE = 4
RAW_GUIDANCE = 0.85
"""``--raw`` lowers guidance by this factor: less of the model's learned look, as on MJ."""
DRAFT_SCALE = 0.75
STYLE_SCALE_CAP = 1.5
"""IP-Adapter scales much above 1 burn the image; ``--sw 1000`` stops here."""
IW_STRENGTH_SLOPE = 0.3
MIN_STRENGTH, MAX_STRENGTH = 0.15, 0.95
UPSCALE_STRENGTH = 0.3
VARIATION_STRENGTH = 0.6
VARY_STRENGTH = {Action.VARY_SUBTLE: 0.35, Action.VARY_STRONG: 0.7}
UPSCALE_STRENGTHS = {
    Action.UPSCALE: UPSCALE_STRENGTH,
    Action.UPSCALE_SUBTLE: 0.2,
    Action.UPSCALE_CREATIVE: 0.45,
}
ZOOM = {Action.ZOOM_OUT_2X: 2.0, Action.ZOOM_OUT_1_5X: 1.5}
PAN_SIDES = {
    Action.PAN_LEFT: "left",
    Action.PAN_RIGHT: "right",
    Action.PAN_UP: "top",
    Action.PAN_DOWN: "bottom",
}

_IGNORED = (
    (("cref", "cw"), "--cref/--cw need a character (face) adapter this server does not have."),
    (("oref", "ow"), "--oref/--ow (omni reference) are not available on this server."),
    (("exp",), "--exp has no equivalent on this server's model; ignored."),
)


@dataclass(frozen=True, slots=True)
class ParentRender:
    """A finished render a button acts on: its images (PNG bytes) and their size."""

    images: tuple[bytes, ...]
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class _Common:
    """What a prompt sets on every render planned from it, whatever starts the images."""

    positive: tuple[WeightedText, ...]
    negative: tuple[WeightedText, ...]
    steps: int
    guidance: float
    stop_at: float
    chaos: float
    weird: float
    tile: bool


def plan_imagine(
    prompt: Prompt,
    preset: ModelPreset,
    *,
    task_id: str,
    image_prompts: Sequence[bytes] = (),
    style_images: Sequence[bytes] = (),
    default_steps: int | None = None,
) -> tuple[RenderJob, tuple[str, ...]]:
    """The grid render for ``prompt`` on ``preset``, and notes on what it cannot honour.

    ``image_prompts`` are the prompt's image URLs already downloaded; ``style_images`` the
    ``--sref`` URLs'. ``--draft`` halves the steps and renders at 0.75 of each side.
    """
    return _imagine(
        prompt,
        preset,
        task_id=task_id,
        seed=prompt.params.seed or 0,
        image_prompts=image_prompts,
        style_images=style_images,
        default_steps=default_steps,
    )


def _imagine(
    prompt: Prompt,
    preset: ModelPreset,
    *,
    task_id: str,
    seed: int,
    image_prompts: Sequence[bytes] = (),
    style_images: Sequence[bytes] = (),
    default_steps: int | None = None,
) -> tuple[RenderJob, tuple[str, ...]]:
    common, notes = _common(prompt, preset, default_steps)
    scale = DRAFT_SCALE if prompt.params.draft else 1.0
    width, height = size_for_ratio(prompt.params.ar, (preset.width, preset.height), scale=scale)
    seeds = tuple(seed + offset for offset in range(GRID_SIZE))
    mode, strength = RenderMode.TEXT, 1.0
    if image_prompts:
        mode, strength = RenderMode.IMAGE, image_strength(prompt.params.iw)
    elif prompt.image_urls:
        notes.append("The image prompts could not be read; rendered from the text alone.")
    styles, style_scale = _style(prompt, preset, style_images, notes)
    job = _job(
        common,
        task_id=task_id,
        preset=preset,
        size=(width, height),
        seeds=seeds,
        mode=mode,
        strength=strength,
        init_images=tuple(image_prompts),
        style_images=styles,
        style_scale=style_scale,
    )
    return job, tuple(notes)


def plan_action(
    action: Action,
    index: int,
    *,
    parent: ParentRender,
    prompt: Prompt,
    preset: ModelPreset,
    task_id: str,
    seed: int,
) -> tuple[RenderJob, tuple[str, ...]]:
    """The render for a button on ``parent``, and notes on what it cannot honour.

    ``prompt`` is the parent's (for ENHANCE, the draft's prompt without ``--draft``);
    ``seed`` is the seed this render starts from (an upscale uses ``seed + index - 1``: the
    grid image's own seed when ``seed`` is the parent's). ``index`` is 1 to 4 for U/V
    buttons; single-image actions take the parent's first image (or image ``index`` when
    given). REROLL is a plain imagine: plan it with ``plan_imagine``.
    """
    if action is Action.REROLL:
        raise ValueError("REROLL is a new imagine: plan it with plan_imagine")
    if action is Action.ENHANCE:
        return _imagine(prompt, preset, task_id=task_id, seed=seed)
    common, notes = _common(prompt, preset, None)
    image = _parent_image(parent, index)
    native_pixels = preset.width * preset.height
    make = partial(_job, common, task_id=task_id, preset=preset)
    if action in UPSCALE_STRENGTHS:
        size = fit_pixels(
            2 * parent.width, 2 * parent.height, MAX_PIXEL_FACTOR * native_pixels, LATENT
        )
        init = pictures.resized_png(image, size)
        job = make(
            size=size,
            seeds=(seed + max(index - 1, 0),),
            mode=RenderMode.IMAGE,
            strength=UPSCALE_STRENGTHS[action],
            init_images=(init,),
        )
    elif action is Action.VARIATION or action in VARY_STRENGTH:
        strength = VARY_STRENGTH.get(action, VARIATION_STRENGTH)
        job = make(
            size=(snap(parent.width, LATENT), snap(parent.height, LATENT)),
            seeds=derived_seeds(seed, action, index),
            mode=RenderMode.IMAGE,
            strength=strength,
            init_images=(image,),
        )
    elif action in ZOOM or action in PAN_SIDES:
        canvas, size = _outpaint_canvas(action, parent, native_pixels)
        job = make(
            size=size,
            seeds=derived_seeds(seed, action, index),
            mode=RenderMode.OUTPAINT,
            strength=1.0,
            init_images=(image,),
            canvas=canvas,
        )
    else:  # pragma: no cover - every Action is handled above
        raise ValueError(f"no plan for action {action}")
    return job, tuple(notes)


def image_strength(iw: float) -> float:
    """img2img strength for ``--iw``: a heavier image weight keeps more of the image."""
    return min(MAX_STRENGTH, max(MIN_STRENGTH, 1.0 - IW_STRENGTH_SLOPE * iw))


def stylized_guidance(preset: ModelPreset, stylize: int, *, raw: bool) -> float:
    """Guidance for ``--stylize`` (and ``--raw``) on a preset that uses CFG."""
    guidance = preset.guidance * math.pow(100 / max(stylize, 1), 0.25)
    if raw:
        guidance *= RAW_GUIDANCE
    return min(2 * preset.guidance, max(1.0, guidance))


def derived_seeds(seed: int, action: Action, index: int) -> tuple[int, ...]:
    """Four seeds for a follow-up grid: fixed by seed, action and index, unlike the parent's."""
    base = zlib.crc32(f"{seed}:{action.value}:{index}".encode())
    return tuple((base + offset) % 2**32 for offset in range(GRID_SIZE))


def _common(
    prompt: Prompt, preset: ModelPreset, default_steps: int | None
) -> tuple[_Common, list[str]]:
    params, explicit = prompt.params, prompt.explicit
    notes: list[str] = []
    positive, negative = [], []
    for term in prompt.weighted_terms():
        if term.weight > 0:
            positive.append(WeightedText(term.text, term.weight))
        elif term.weight < 0:
            negative.append(WeightedText(term.text, -term.weight))
    if preset.uses_guidance:
        guidance = stylized_guidance(preset, params.stylize, raw=params.raw)
    else:
        guidance = preset.guidance
        if explicit & {"stylize", "raw"}:
            notes.append("--stylize and --raw have no effect on this server's model.")
    steps = max(1, round((default_steps or preset.steps) * params.quality))
    if params.draft:
        steps = max(1, steps // 2)
    if params.style is not None:
        notes.append(f"--style {params.style} is not available on this server; ignored.")
    notes.extend(note for names, note in _IGNORED if explicit & set(names))
    common = _Common(
        positive=tuple(positive),
        negative=tuple(negative),
        steps=steps,
        guidance=guidance,
        stop_at=params.stop / 100,
        chaos=params.chaos / 100,
        weird=params.weird / 3000,
        tile=params.tile,
    )
    return common, notes


def _style(
    prompt: Prompt, preset: ModelPreset, style_images: Sequence[bytes], notes: list[str]
) -> tuple[tuple[bytes, ...], float]:
    sref = prompt.params.sref
    if not sref:
        return (), 1.0
    if preset.ip_adapter is None:
        notes.append("--sref needs a style adapter this server's model does not have; ignored.")
        return (), 1.0
    if any(not item.startswith(("http://", "https://")) for item in sref):
        notes.append("--sref style codes and random are Midjourney's own; ignored.")
    if any("::" in item for item in sref):
        notes.append("--sref weights per image are not supported; the images count equally.")
    return tuple(style_images), min(STYLE_SCALE_CAP, prompt.params.sw / 100)


def _job(
    common: _Common,
    *,
    task_id: str,
    preset: ModelPreset,
    size: tuple[int, int],
    seeds: tuple[int, ...],
    mode: RenderMode,
    strength: float,
    init_images: tuple[bytes, ...],
    style_images: tuple[bytes, ...] = (),
    style_scale: float = 1.0,
    canvas: Canvas | None = None,
) -> RenderJob:
    return RenderJob(
        task_id=task_id,
        preset=preset,
        positive=common.positive,
        negative=common.negative,
        width=size[0],
        height=size[1],
        steps=common.steps,
        guidance=common.guidance,
        seeds=seeds,
        mode=mode,
        stop_at=common.stop_at,
        chaos=common.chaos,
        weird=common.weird,
        tile=common.tile,
        init_images=init_images,
        strength=strength,
        canvas=canvas,
        style_images=style_images,
        style_scale=style_scale,
    )


def _parent_image(parent: ParentRender, index: int) -> bytes:
    position = index - 1 if index >= 1 else 0
    if not 0 <= position < len(parent.images):
        raise ValueError(f"image {index} is not in a parent of {len(parent.images)} images")
    return parent.images[position]


def _outpaint_canvas(
    action: Action, parent: ParentRender, native_pixels: int
) -> tuple[Canvas, tuple[int, int]]:
    width, height = parent.width, parent.height
    if action in ZOOM:
        # The canvas is ZOOM times the parent per side, rendered back at the parent's size.
        pad_x = round(width * (ZOOM[action] - 1) / 2)
        pad_y = round(height * (ZOOM[action] - 1) / 2)
        size = (snap(width, LATENT), snap(height, LATENT))
        return Canvas(left=pad_x, top=pad_y, right=pad_x, bottom=pad_y), size
    side = PAN_SIDES[action]
    pads = {"left": 0, "top": 0, "right": 0, "bottom": 0}
    pads[side] = width // 2 if side in {"left", "right"} else height // 2
    canvas = Canvas(**pads)
    full_w = width + canvas.left + canvas.right
    full_h = height + canvas.top + canvas.bottom
    cap = MAX_PIXEL_FACTOR * native_pixels
    size = fit_pixels(snap(full_w), snap(full_h), cap, GRID)
    return canvas, size
