"""The planner: prompts and button presses as render jobs (pure Python, no torch)."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys

import pytest
from PIL import Image

from bot.model import Action
from bot.prompt import parse_prompt
from bot.providers.diffusion.errors import (
    DeviceOutOfMemory,
    RenderCancelled,
    RenderFailed,
    WeightsUnavailable,
)
from bot.providers.diffusion.plan import ParentRender, plan_action, plan_imagine
from bot.providers.diffusion.presets import ModelPreset
from bot.providers.diffusion.sizes import size_for_ratio
from bot.providers.diffusion.spec import Canvas, RenderMode, WeightedText

TURBO = ModelPreset(model="stabilityai/sd-turbo", steps=4, guidance=0.0)
CFG = ModelPreset(model="sd15", steps=20, guidance=7.0)
SDXL = ModelPreset(model="sdxl", width=1024, height=1024, steps=8, guidance=5.0)
STYLED = CFG.model_copy(update={"ip_adapter": "h94/IP-Adapter"})


def plan(text: str, preset: ModelPreset = CFG, **kwargs: object):  # type: ignore[no-untyped-def]
    return plan_imagine(parse_prompt(text), preset, task_id="t1", **kwargs)  # type: ignore[arg-type]


def png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_planner_imports_no_torch() -> None:
    code = (
        "import sys, bot.providers.diffusion.plan, bot.providers.diffusion.errors; "
        "assert 'torch' not in sys.modules and 'diffusers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603


@pytest.mark.parametrize(
    ("ar", "native", "size"),
    [
        ("1:1", (512, 512), (512, 512)),
        ("16:9", (512, 512), (704, 384)),
        ("9:16", (512, 512), (384, 704)),
        ("16:9", (1024, 1024), (1344, 768)),
        ("3:2", (1024, 1024), (1280, 832)),
    ],
)
def test_ar_keeps_the_native_pixel_count(
    ar: str, native: tuple[int, int], size: tuple[int, int]
) -> None:
    assert size_for_ratio(ar, native) == size


def test_very_long_ratios_are_clamped() -> None:
    width, height = size_for_ratio("10:1", (512, 512))
    assert width <= 1024
    assert height >= 64
    assert width % 64 == 0
    assert height % 64 == 0


def test_ar_and_seed_make_the_grid() -> None:
    job, notes = plan("a fox --ar 16:9 --seed 41", SDXL)
    assert (job.width, job.height) == (1344, 768)
    assert job.seeds == (41, 42, 43, 44)
    assert job.mode is RenderMode.TEXT
    assert notes == ()


def test_a_missing_seed_counts_from_zero() -> None:
    job, notes = plan("a fox")
    assert job.seeds == (0, 1, 2, 3)
    assert notes == ()


def test_weights_and_no_split_into_positive_and_negative() -> None:
    job, _ = plan("a cat::2 a dog::-0.5 a hat --no red, blue --seed 1")
    assert job.positive == (WeightedText("a cat", 2.0), WeightedText("a hat", 1.0))
    assert job.negative == (
        WeightedText("a dog", 0.5),
        WeightedText("red", 0.5),
        WeightedText("blue", 0.5),
    )


def test_chaos_weird_stop_and_tile() -> None:
    job, _ = plan("a cat --c 50 --w 1500 --stop 40 --tile --seed 1")
    assert job.chaos == 0.5
    assert job.weird == 0.5
    assert job.stop_at == 0.4
    assert job.tile


@pytest.mark.parametrize(
    ("params", "guidance"),
    [
        ("", 7.0),
        ("--s 1000", 7.0 * 0.1**0.25),
        ("--s 0", 14.0),  # clamped at twice the preset's
        ("--raw", 7.0 * 0.85),
        ("--s 1000 --raw", 7.0 * 0.1**0.25 * 0.85),
    ],
)
def test_stylize_and_raw_set_guidance(params: str, guidance: float) -> None:
    job, notes = plan(f"a cat {params} --seed 1")
    assert job.guidance == pytest.approx(guidance)
    assert notes == ()


def test_guidance_never_drops_below_one() -> None:
    low = CFG.model_copy(update={"guidance": 1.5})
    job, _ = plan("a cat --s 1000 --raw --seed 1", low)
    assert job.guidance == 1.0


def test_stylize_on_a_guidance_free_model_says_so_once() -> None:
    job, notes = plan("a cat --s 500 --raw --seed 1", TURBO)
    assert job.guidance == 0.0
    assert notes == ("--stylize and --raw have no effect on this server's model.",)
    assert plan("a cat --seed 1", TURBO)[1] == ()


@pytest.mark.parametrize(("quality", "steps"), [(".25", 5), (".5", 10), ("1", 20), ("2", 40)])
def test_quality_scales_the_steps(quality: str, steps: int) -> None:
    job, _ = plan(f"a cat --q {quality} --seed 1")
    assert job.steps == steps


def test_quality_keeps_at_least_one_step_and_honours_default_steps() -> None:
    assert plan("a cat --q .25 --seed 1", TURBO)[0].steps == 1
    assert plan("a cat --q 2 --seed 1", TURBO, default_steps=3)[0].steps == 6


def test_draft_halves_steps_and_shrinks_the_size() -> None:
    job, _ = plan("a cat --draft --seed 1")
    assert job.steps == 10
    assert (job.width, job.height) == (384, 384)
    assert plan("a cat --draft --seed 1", TURBO.model_copy(update={"steps": 1}))[0].steps == 1


@pytest.mark.parametrize(("iw", "strength"), [("0", 0.95), ("1", 0.7), ("2", 0.4), ("3", 0.15)])
def test_image_prompts_render_img2img_with_strength_from_iw(iw: str, strength: float) -> None:
    job, notes = plan(
        f"https://example.com/a.png a cat --iw {iw} --seed 1", image_prompts=[png((64, 64))]
    )
    assert job.mode is RenderMode.IMAGE
    assert job.init_images == (png((64, 64)),)
    assert job.strength == pytest.approx(strength)
    assert notes == ()


def test_unreadable_image_prompts_fall_back_to_text() -> None:
    job, notes = plan("https://example.com/a.png a cat --seed 1")
    assert job.mode is RenderMode.TEXT
    assert len(notes) == 1


def test_sref_without_an_adapter_is_ignored_with_a_note() -> None:
    job, notes = plan("a cat --sref https://example.com/s.png --seed 1", style_images=[b"x"])
    assert job.style_images == ()
    assert notes == ("--sref needs a style adapter this server's model does not have; ignored.",)


def test_sref_with_an_adapter_passes_the_style_images() -> None:
    job, notes = plan(
        "a cat --sref https://example.com/s.png --sw 1000 --seed 1", STYLED, style_images=[b"x"]
    )
    assert job.style_images == (b"x",)
    assert job.style_scale == 1.5
    assert notes == ()
    job, _ = plan("a cat --sref https://example.com/s.png --sw 50 --seed 1", STYLED)
    assert job.style_scale == 0.5


def test_sref_codes_are_noted() -> None:
    _, notes = plan("a cat --sref 1234 https://example.com/s.png --seed 1", STYLED)
    assert any("style codes" in note for note in notes)


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ("--v 6 --cref https://example.com/face.png --cw 50", "--cref"),
        ("--v 7 --oref https://example.com/o.png", "--oref"),
        ("--v 7 --exp 20", "--exp"),
        ("--niji 6 --style cute", "--style cute"),
    ],
)
def test_unsupported_references_are_noted(params: str, word: str) -> None:
    _, notes = plan(f"a cat {params} --seed 1")
    assert len(notes) == 1
    assert word in notes[0]


# Button presses ------------------------------------------------------------------------


GRID = ParentRender(images=tuple(png((64, 64)) for _ in range(4)), width=64, height=64)
SINGLE = ParentRender(images=(png((128, 96)),), width=128, height=96)
SMALL = ModelPreset(model="tiny", width=128, height=128, steps=4, guidance=3.0)


def act(action: Action, index: int = 0, parent: ParentRender = SINGLE, text: str = "a cat"):  # type: ignore[no-untyped-def]
    prompt = parse_prompt(f"{text} --seed 7")
    return plan_action(
        action, index, parent=parent, prompt=prompt, preset=SMALL, task_id="t2", seed=7
    )


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


@pytest.mark.parametrize(
    ("action", "strength"),
    [(Action.UPSCALE, 0.3), (Action.UPSCALE_SUBTLE, 0.2), (Action.UPSCALE_CREATIVE, 0.45)],
)
def test_upscales_double_the_image_with_one_seed(action: Action, strength: float) -> None:
    job, _ = act(action, 3, GRID)
    assert (job.width, job.height) == (128, 128)
    assert job.seeds == (9,)  # the grid image's own seed
    assert job.mode is RenderMode.IMAGE
    assert job.strength == strength
    assert image_size(job.init_images[0]) == (128, 128)


def test_upscales_are_capped_at_four_times_the_native_pixels() -> None:
    big = ParentRender(images=(png((256, 256)),), width=256, height=256)
    job, _ = act(Action.UPSCALE_SUBTLE, 0, big)
    assert job.width * job.height <= 4 * 128 * 128
    assert job.width % 8 == 0
    assert job.height % 8 == 0


@pytest.mark.parametrize(
    ("action", "strength"),
    [(Action.VARIATION, 0.6), (Action.VARY_SUBTLE, 0.35), (Action.VARY_STRONG, 0.7)],
)
def test_variations_render_four_images_at_the_parent_size(action: Action, strength: float) -> None:
    job, _ = act(action, 1, GRID if action is Action.VARIATION else SINGLE)
    parent = GRID if action is Action.VARIATION else SINGLE
    assert (job.width, job.height) == (parent.width, parent.height)
    assert len(job.seeds) == 4
    assert len(set(job.seeds)) == 4
    assert job.strength == strength
    assert job.init_images == (parent.images[0],)


def test_variation_seeds_depend_on_seed_and_index() -> None:
    first, second = act(Action.VARIATION, 1, GRID)[0], act(Action.VARIATION, 2, GRID)[0]
    assert first.seeds != second.seeds
    assert act(Action.VARIATION, 1, GRID)[0].seeds == first.seeds


@pytest.mark.parametrize(
    ("action", "canvas"),
    [
        (Action.ZOOM_OUT_2X, Canvas(left=64, top=48, right=64, bottom=48)),
        (Action.ZOOM_OUT_1_5X, Canvas(left=32, top=24, right=32, bottom=24)),
    ],
)
def test_zoom_out_pads_all_sides_and_keeps_the_size(action: Action, canvas: Canvas) -> None:
    job, _ = act(action)
    assert job.mode is RenderMode.OUTPAINT
    assert job.canvas == canvas
    assert (job.width, job.height) == (128, 96)
    assert len(job.seeds) == 4


@pytest.mark.parametrize(
    ("action", "canvas", "size"),
    [
        (Action.PAN_LEFT, Canvas(64, 0, 0, 0), (192, 128)),
        (Action.PAN_RIGHT, Canvas(0, 0, 64, 0), (192, 128)),
        (Action.PAN_UP, Canvas(0, 48, 0, 0), (128, 128)),
        (Action.PAN_DOWN, Canvas(0, 0, 0, 48), (128, 128)),
    ],
)
def test_pans_extend_one_side_by_half(
    action: Action, canvas: Canvas, size: tuple[int, int]
) -> None:
    job, _ = act(action)
    assert job.canvas == canvas
    assert (job.width, job.height) == size
    assert job.mode is RenderMode.OUTPAINT


def test_enhance_replans_the_prompt_with_the_given_seed() -> None:
    job, _ = act(Action.ENHANCE, text="a cat --ar 2:1 --c 20")
    assert job.mode is RenderMode.TEXT
    assert job.seeds == (7, 8, 9, 10)
    assert job.chaos == 0.2
    assert (job.width, job.height) == (192, 64)


def test_actions_keep_the_prompt_conditioning() -> None:
    job, _ = act(Action.VARY_STRONG, text="a cat --no dog --tile --stop 60 --c 10")
    assert job.negative == (WeightedText("dog", 0.5),)
    assert job.tile
    assert job.stop_at == 0.6
    assert job.chaos == 0.1


def test_reroll_and_missing_images_are_refused() -> None:
    with pytest.raises(ValueError, match="plan_imagine"):
        act(Action.REROLL)
    with pytest.raises(ValueError, match="image 5"):
        act(Action.UPSCALE, 5, GRID)


@pytest.mark.parametrize(
    "error",
    [
        RenderCancelled(),
        DeviceOutOfMemory("out of memory"),
        WeightsUnavailable("get it"),
        RenderFailed("no"),
    ],
)
def test_engine_errors_survive_pickling(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is type(error)
    assert copy.args == error.args
    assert getattr(copy, "message", None) == getattr(error, "message", None)
