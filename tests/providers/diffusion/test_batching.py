"""Cross-job batching: which jobs share a call, and that sharing leaves each job's images."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402 - torch first: skip cleanly without it

from bot.prompt import parse_prompt  # noqa: E402
from bot.providers.diffusion.batching import batch_key  # noqa: E402
from bot.providers.diffusion.engine import Renderer  # noqa: E402
from bot.providers.diffusion.errors import RenderFailed  # noqa: E402
from bot.providers.diffusion.plan import plan_imagine  # noqa: E402
from bot.providers.diffusion.presets import ModelPreset  # noqa: E402
from bot.providers.diffusion.spec import RenderJob, RenderMode  # noqa: E402
from tests.providers.diffusion.test_engine import Steps, pixels, pngs, render  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
    ),
]


@pytest.fixture(scope="module")
def renderer() -> Iterator[Renderer]:
    threads = torch.get_num_threads()
    yield Renderer(device="cpu", max_loaded=2, threads=1)  # one thread: see test_engine
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def sd(tiny_sd_dir: Path) -> ModelPreset:
    return ModelPreset(model=str(tiny_sd_dir), width=128, height=128, steps=4, guidance=3.0)


@pytest.fixture(scope="module")
def sdxl(tiny_sdxl_dir: Path) -> ModelPreset:
    return ModelPreset(model=str(tiny_sdxl_dir), width=128, height=128, steps=3, guidance=0.0)


TOLERANCE = 2.0
"""Largest per-pixel difference (of 255) a larger batch's float noise may make."""


def job(preset: ModelPreset, text: str, task_id: str = "t") -> RenderJob:
    return plan_imagine(parse_prompt(text), preset, task_id=task_id)[0]


def assert_same_images(batched: tuple[bytes, ...], alone: tuple[bytes, ...]) -> None:
    assert len(batched) == len(alone)
    for a, b in zip(batched, alone, strict=True):
        assert float(np.abs(pixels(a) - pixels(b)).max()) <= TOLERANCE


def test_the_key_refuses_different_shapes_and_unbatchable_jobs(sd: ModelPreset) -> None:
    base = job(sd, "a cat --seed 1")
    assert batch_key(base) == batch_key(job(sd, "a dog --no rain --chaos 30 --seed 9"))
    for change in (
        {"width": 64},
        {"steps": 2},
        {"guidance": 1.0},
        {"stop_at": 0.5},
        {"tile": True},
        {"preset": sd.model_copy(update={"model": "/other"})},
    ):
        assert batch_key(dataclasses.replace(base, **change)) != batch_key(base)
    assert batch_key(dataclasses.replace(base, mode=RenderMode.IMAGE)) is None
    assert batch_key(dataclasses.replace(base, style_images=(b"png",))) is None


def test_batched_jobs_render_as_they_do_alone(renderer: Renderer, sd: ModelPreset) -> None:
    # The second has no negative: with CFG it gets the empty one, as alone.
    jobs = [job(sd, "a fox --no rain --seed 3", "a"), job(sd, "a cat --c 40 --seed 7", "b")]
    steps = Steps()
    results = renderer.render_batch(jobs, on_step=steps, should_stop=lambda: False)
    assert [step for step, _, _ in steps.calls] == [1, 2, 3, 4]
    for batched, alone_job in zip(results, jobs, strict=True):
        alone = render(renderer, alone_job)
        assert (batched.width, batched.height, batched.steps_run) == (128, 128, 4)
        assert_same_images(pngs(batched), pngs(alone))


def test_batched_sdxl_jobs_render_as_they_do_alone(renderer: Renderer, sdxl: ModelPreset) -> None:
    guided = sdxl.model_copy(update={"guidance": 3.0})  # CFG: pooled negatives are filled too
    jobs = [job(guided, "a fox --no rain --seed 4", "a"), job(guided, "a cat --seed 5", "b")]
    results = renderer.render_batch(jobs, on_step=Steps(), should_stop=lambda: False)
    for batched, alone_job in zip(results, jobs, strict=True):
        assert_same_images(pngs(batched), pngs(render(renderer, alone_job)))


def test_jobs_of_different_shapes_are_refused(renderer: Renderer, sd: ModelPreset) -> None:
    jobs = [job(sd, "a fox --seed 3"), job(sd, "a fox --ar 2:1 --seed 3")]
    with pytest.raises(RenderFailed, match="one batch"):
        renderer.render_batch(jobs, on_step=Steps(), should_stop=lambda: False)
