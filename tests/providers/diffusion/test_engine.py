"""The render engine on tiny random-weight pipelines: real tensors, real pixels."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402 - torch first: skip cleanly without it
from PIL import Image  # noqa: E402

from bot.model import Action  # noqa: E402
from bot.prompt import parse_prompt  # noqa: E402
from bot.providers.diffusion.conditioning import build_conditioning  # noqa: E402
from bot.providers.diffusion.engine import Renderer  # noqa: E402
from bot.providers.diffusion.errors import (  # noqa: E402
    DeviceOutOfMemory,
    RenderCancelled,
    RenderFailed,
    WeightsUnavailable,
)
from bot.providers.diffusion.loading import LoadOptions, load_pipeline  # noqa: E402
from bot.providers.diffusion.pictures import encode_png, from_rgb  # noqa: E402
from bot.providers.diffusion.plan import ParentRender, plan_action, plan_imagine  # noqa: E402
from bot.providers.diffusion.presets import ModelPreset  # noqa: E402
from bot.providers.diffusion.preview import PreviewThrottle  # noqa: E402
from bot.providers.diffusion.spec import RenderJob, RenderResult  # noqa: E402
from bot.providers.diffusion.tiling import circular_padding  # noqa: E402

pytestmark = [
    # diffusers' Euler scheduler hands a torch tensor to np.array (numpy 2 deprecation).
    pytest.mark.filterwarnings(
        "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
    ),
]


@pytest.fixture(scope="module")
def renderer() -> Iterator[Renderer]:
    threads = torch.get_num_threads()
    # One thread: on a busy 2-core machine two threads spin-wait on each other (10x slower).
    yield Renderer(device="cpu", max_loaded=2, threads=1)
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def sd(tiny_sd_dir: Path, renderer: Renderer) -> ModelPreset:
    preset = ModelPreset(model=str(tiny_sd_dir), width=128, height=128, steps=4, guidance=3.0)
    renderer.load(preset)
    return preset


@pytest.fixture(scope="module")
def sd_turbo(sd: ModelPreset) -> ModelPreset:
    """The same weights run without CFG, as a turbo model would."""
    return sd.model_copy(update={"guidance": 0.0})


@pytest.fixture(scope="module")
def sdxl(tiny_sdxl_dir: Path, renderer: Renderer) -> ModelPreset:
    preset = ModelPreset(model=str(tiny_sdxl_dir), width=128, height=128, steps=3, guidance=0.0)
    renderer.load(preset)
    return preset


class Steps:
    """Records on_step calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, bytes | None]] = []

    def __call__(self, step: int, total: int, preview: bytes | None) -> None:
        self.calls.append((step, total, preview))


def render(renderer: Renderer, job: RenderJob, on_step: Steps | None = None) -> RenderResult:
    return renderer.render(job, on_step=on_step or Steps(), should_stop=lambda: False)


def imagine(renderer: Renderer, preset: ModelPreset, text: str) -> RenderResult:
    job, _ = plan_imagine(parse_prompt(text), preset, task_id="t")
    return render(renderer, job)


def pngs(result: RenderResult) -> tuple[bytes, ...]:
    """The result's raw images as PNG, as the bot stores them."""
    size = (result.width, result.height)
    return tuple(encode_png(from_rgb(data, size)) for data in result.pixels)


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "RGB"
        return np.asarray(image).astype(np.float64)


def distance(a: bytes, b: bytes) -> float:
    return float(np.abs(pixels(a) - pixels(b)).mean())


def test_auto_resolves_to_bfloat16_on_the_cpu() -> None:
    auto = Renderer(device="cpu")
    assert (auto.device, auto.dtype) == ("cpu", "bfloat16")
    assert Renderer(device="cpu", dtype="fp32").dtype == "float32"


def test_same_seed_same_images_and_seeds_differ(renderer: Renderer, sd: ModelPreset) -> None:
    first = imagine(renderer, sd, "a red fox --seed 11")
    again = imagine(renderer, sd, "a red fox --seed 11")
    assert len(first.pixels) == 4
    assert first.pixels == again.pixels
    assert all(distance(pngs(first)[0], other) > 1 for other in pngs(first)[1:])
    assert distance(pngs(first)[0], pngs(imagine(renderer, sd, "a red fox --seed 12"))[0]) > 1


def test_ar_gives_the_size(renderer: Renderer, sd: ModelPreset) -> None:
    result = imagine(renderer, sd, "a fox --ar 3:1 --seed 1")
    assert (result.width, result.height) == (192, 64)
    assert pixels(pngs(result)[0]).shape == (64, 192, 3)


def test_progress_is_reported_each_step_with_a_preview(renderer: Renderer, sd: ModelPreset) -> None:
    steps = Steps()
    job, _ = plan_imagine(parse_prompt("a fox --seed 1"), sd, task_id="t")
    result = render(renderer, job, steps)
    assert [(step, total) for step, total, _ in steps.calls] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert steps.calls[0][2] is not None  # the first preview is due at once
    assert steps.calls[-1][2] is None  # the finished images follow instead
    with Image.open(io.BytesIO(steps.calls[0][2])) as preview:
        assert preview.size == (32, 32)  # four 16x16 latents in a 2x2 grid
    assert result.steps_run == 4


def test_previews_are_throttled() -> None:
    now = [0.0]
    throttle = PreviewThrottle(interval=1.0, clock=lambda: now[0])
    assert throttle.due()
    now[0] = 0.5
    assert not throttle.due()
    now[0] = 1.0
    assert throttle.due()


def test_stop_runs_fewer_steps(renderer: Renderer, sd: ModelPreset) -> None:
    steps = Steps()
    job, _ = plan_imagine(parse_prompt("a fox --stop 50 --seed 1"), sd, task_id="t")
    result = render(renderer, job, steps)
    assert result.steps_run == 2
    assert [(step, total) for step, total, _ in steps.calls] == [(1, 2), (2, 2)]
    full = imagine(renderer, sd, "a fox --seed 1")
    assert distance(pngs(result)[0], pngs(full)[0]) > 0


def test_should_stop_cancels(renderer: Renderer, sd: ModelPreset) -> None:
    asked = iter([False, True])
    steps = Steps()
    job, _ = plan_imagine(parse_prompt("a fox --seed 1"), sd, task_id="t")
    with pytest.raises(RenderCancelled):
        renderer.render(job, on_step=steps, should_stop=lambda: next(asked))
    assert len(steps.calls) == 1


def test_no_changes_the_negative_conditioning(renderer: Renderer, sd: ModelPreset) -> None:
    pipe = load_pipeline(sd, LoadOptions(device="cpu", dtype="float32"))
    plain = plan_imagine(parse_prompt("a fox --seed 1"), sd, task_id="t")[0]
    red = plan_imagine(parse_prompt("a fox --no red --seed 1"), sd, task_id="t")[0]
    blue = plan_imagine(parse_prompt("a fox --no blue --seed 1"), sd, task_id="t")[0]
    assert build_conditioning(pipe, plain).negative is None
    red_negative = build_conditioning(pipe, red).negative
    blue_negative = build_conditioning(pipe, blue).negative
    assert red_negative is not None
    assert blue_negative is not None
    assert not torch.allclose(red_negative, blue_negative)
    assert distance(pngs(render(renderer, red))[0], pngs(render(renderer, blue))[0]) > 1


def test_no_without_cfg_pushes_the_positive_away(sd_turbo: ModelPreset, sd: ModelPreset) -> None:
    pipe = load_pipeline(sd_turbo, LoadOptions(device="cpu", dtype="float32"))
    plain = build_conditioning(
        pipe, plan_imagine(parse_prompt("a fox --seed 1"), sd_turbo, task_id="t")[0]
    )
    pushed = build_conditioning(
        pipe, plan_imagine(parse_prompt("a fox --no red --seed 1"), sd_turbo, task_id="t")[0]
    )
    assert pushed.negative is None
    assert not torch.allclose(plain.embeds, pushed.embeds)


def cosine(a: Any, b: Any) -> float:
    return float(torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0))


def test_weights_move_the_embedding_toward_the_heavier_segment(sd: ModelPreset) -> None:
    pipe = load_pipeline(sd, LoadOptions(device="cpu", dtype="float32"))

    def embeds(text: str) -> Any:
        job = plan_imagine(parse_prompt(f"{text} --seed 1"), sd, task_id="t")[0]
        return build_conditioning(pipe, job).embeds[0]

    cat, dog = embeds("a cat"), embeds("the dog")
    cat_heavy, dog_heavy = embeds("a cat::3 the dog::1"), embeds("a cat::1 the dog::3")
    assert cosine(cat_heavy, cat) > cosine(cat_heavy, dog)
    assert cosine(dog_heavy, dog) > cosine(dog_heavy, cat)
    assert cosine(cat_heavy, cat) > cosine(dog_heavy, cat)


def test_chaos_and_weird_change_images_deterministically(
    renderer: Renderer, sd: ModelPreset
) -> None:
    pipe = load_pipeline(sd, LoadOptions(device="cpu", dtype="float32"))

    def rows(text: str) -> Any:
        job = plan_imagine(parse_prompt(f"a fox {text} --seed 5"), sd, task_id="t")[0]
        return build_conditioning(pipe, job).embeds

    calm, chaotic, weird = rows(""), rows("--c 60"), rows("--w 2000")
    assert torch.equal(calm[0], calm[1])  # one conditioning for every image
    for shifted in (chaotic, weird):
        assert not torch.allclose(shifted[0], calm[0])
        assert not torch.allclose(shifted[0], shifted[1])  # each image its own shift
    assert torch.equal(rows("--c 60"), chaotic)
    calm_images = pngs(imagine(renderer, sd, "a fox --seed 5"))
    chaotic_images = pngs(imagine(renderer, sd, "a fox --c 60 --seed 5"))
    assert distance(calm_images[0], chaotic_images[0]) > 0
    assert pngs(imagine(renderer, sd, "a fox --c 60 --seed 5")) == chaotic_images


def test_img2img_low_strength_stays_closer_to_the_init(renderer: Renderer, sd: ModelPreset) -> None:
    init = pngs(imagine(renderer, sd, "a fox --seed 3"))[0]
    base = plan_imagine(
        parse_prompt("https://example.com/i.png a fox --seed 3"),
        sd,
        task_id="t",
        image_prompts=[init],
    )[0]

    def at(strength: float) -> float:
        job = RenderJob(**{**_fields(base), "strength": strength, "steps": 10})
        return distance(pngs(render(renderer, job))[0], init)

    assert at(0.2) < at(0.9)


def _fields(job: RenderJob) -> dict[str, Any]:
    return {name: getattr(job, name) for name in RenderJob.__slots__}  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def parent(renderer: Renderer, sd: ModelPreset) -> ParentRender:
    result = imagine(renderer, sd, "a fox --seed 9")
    return ParentRender(images=pngs(result), width=result.width, height=result.height)


EXPECTED = {
    Action.UPSCALE: ((256, 256), 1),
    Action.VARIATION: ((128, 128), 4),
    Action.VARY_SUBTLE: ((128, 128), 4),
    Action.VARY_STRONG: ((128, 128), 4),
    Action.ZOOM_OUT_2X: ((128, 128), 4),
    Action.ZOOM_OUT_1_5X: ((128, 128), 4),
    Action.PAN_LEFT: ((192, 128), 4),
    Action.PAN_RIGHT: ((192, 128), 4),
    Action.PAN_UP: ((128, 192), 4),
    Action.PAN_DOWN: ((128, 192), 4),
    Action.UPSCALE_SUBTLE: ((256, 256), 1),
    Action.UPSCALE_CREATIVE: ((256, 256), 1),
    Action.ENHANCE: ((128, 128), 4),
}


@pytest.mark.parametrize("action", list(EXPECTED))
def test_every_action_renders(
    renderer: Renderer, sd: ModelPreset, parent: ParentRender, action: Action
) -> None:
    job, _ = plan_action(
        action,
        2,
        parent=parent,
        prompt=parse_prompt("a fox --seed 9"),
        preset=sd,
        task_id="t",
        seed=9,
    )
    result = render(renderer, job)
    size, count = EXPECTED[action]
    assert (result.width, result.height) == size
    assert len(result.pixels) == count
    assert all(pixels(image).shape == (size[1], size[0], 3) for image in pngs(result))


def seam_error(pipe: Any, tile: bool) -> float:
    """How far a render of shifted noise is from the shifted render: 0 when it wraps."""
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn((1, 4, 8, 8), generator=generator)
    embeds = pipe.encode_prompt("a fox", "cpu", 1, False)[0]

    def decoded(start: Any) -> Any:
        with circular_padding(pipe.unet, pipe.vae, enabled=tile):
            return pipe(
                prompt_embeds=embeds,
                latents=start,
                num_inference_steps=2,
                guidance_scale=0.0,
                output_type="np",
            ).images[0]

    shifted = decoded(torch.roll(latents, shifts=4, dims=3))
    return float(np.abs(shifted - np.roll(decoded(latents), shift=32, axis=1)).max())


def test_tile_makes_the_image_wrap(sd: ModelPreset) -> None:
    pipe = load_pipeline(sd, LoadOptions(device="cpu", dtype="float32"))
    with_tile, without = seam_error(pipe, True), seam_error(pipe, False)
    assert with_tile < 1e-3
    assert without > 100 * with_tile
    modes = {
        module.padding_mode for module in pipe.unet.modules() if hasattr(module, "padding_mode")
    }
    assert modes == {"zeros"}  # restored after the block


def test_tile_renders_and_restores_the_modules(renderer: Renderer, sd: ModelPreset) -> None:
    tiled = imagine(renderer, sd, "a fox --tile --seed 2")
    plain = imagine(renderer, sd, "a fox --seed 2")
    assert distance(pngs(tiled)[0], pngs(plain)[0]) > 1
    assert imagine(renderer, sd, "a fox --seed 2").pixels == plain.pixels


def test_oom_becomes_device_out_of_memory(
    renderer: Renderer, sd: ModelPreset, monkeypatch: pytest.MonkeyPatch
) -> None:
    job, _ = plan_imagine(parse_prompt("a fox --seed 1"), sd, task_id="t")
    pipe_class = type(renderer._entry(sd).text)

    def out_of_memory(*args: Any, **kwargs: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")

    monkeypatch.setattr(pipe_class, "__call__", out_of_memory)
    with pytest.raises(DeviceOutOfMemory, match="--ar") as caught:
        render(renderer, job)
    assert "\n" not in caught.value.message

    def runtime_oom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("CUDA error: out of memory")

    monkeypatch.setattr(pipe_class, "__call__", runtime_oom)
    with pytest.raises(DeviceOutOfMemory):
        render(renderer, job)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("shapes do not match")

    monkeypatch.setattr(pipe_class, "__call__", broken)
    with pytest.raises(RenderFailed, match="shapes do not match"):
        render(renderer, job)


@pytest.mark.parametrize("model", ["missing-dir", "someone/not-downloaded"])
def test_unavailable_weights_say_how_to_get_them(tmp_path: Path, model: str) -> None:
    offline = Renderer(device="cpu", cache_dir=str(tmp_path / "hub"), local_files_only=True)
    name = str(tmp_path / model) if model == "missing-dir" else model
    with pytest.raises(WeightsUnavailable) as caught:
        offline.load(ModelPreset(model=name))
    message = caught.value.message
    assert name in message
    assert "\n" not in message
    if "/" in model:
        assert "python -m bot models" in message


def test_sdxl_renders(renderer: Renderer, sdxl: ModelPreset) -> None:
    steps = Steps()
    job, _ = plan_imagine(parse_prompt("a fox --no rain --c 20 --seed 4"), sdxl, task_id="t")
    result = render(renderer, job, steps)
    assert len(result.pixels) == 4
    assert (result.width, result.height) == (128, 128)
    assert result.steps_run == 3
    assert render(renderer, job).pixels == result.pixels
    upscale, _ = plan_action(
        Action.UPSCALE_SUBTLE,
        1,
        parent=ParentRender(pngs(result), result.width, result.height),
        prompt=parse_prompt("a fox --seed 4"),
        preset=sdxl,
        task_id="t",
        seed=4,
    )
    assert render(renderer, upscale).width == 256


@pytest.mark.parametrize(("max_loaded", "loads"), [(1, 3), (2, 2)])
def test_least_recently_used_pipelines_are_evicted(
    monkeypatch: pytest.MonkeyPatch, max_loaded: int, loads: int
) -> None:
    loaded: list[str] = []

    def fake_load(preset: ModelPreset, options: LoadOptions) -> object:
        loaded.append(preset.model)
        return object()

    monkeypatch.setattr("bot.providers.diffusion.engine.load_pipeline", fake_load)
    lru = Renderer(device="cpu", max_loaded=max_loaded)
    first, second = ModelPreset(model="a/one"), ModelPreset(model="a/two")
    for preset in (first, second, first):
        lru.load(preset)
    assert len(loaded) == loads
