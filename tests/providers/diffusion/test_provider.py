"""The local provider end to end on a tiny random-weight model: a real worker process."""

from __future__ import annotations

import asyncio
import io
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image

from bot.errors import FailureKind, FetchRefused, ProviderRejected
from bot.model import Action
from bot.providers.base import ActionRequest, ImagineRequest, TaskState, TaskStatus
from bot.providers.diffusion.presets import ModelPreset
from bot.providers.diffusion.provider import DiffusionProvider
from bot.settings import DiffusionSettings

pytest.importorskip("torch", reason="the local provider's tests need torch (the local extra)")

pytestmark = pytest.mark.asyncio(loop_scope="module")

SIZE = 64


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (SIZE, SIZE), colour).save(buffer, format="PNG")
    return buffer.getvalue()


class Pushes:
    """Every state the provider pushed, with a way to wait for one."""

    def __init__(self) -> None:
        self.states: list[TaskState] = []
        self._changed = asyncio.Condition()

    async def __call__(self, state: TaskState) -> None:
        self.states.append(state)
        async with self._changed:
            self._changed.notify_all()

    async def until(self, task_id: str, status: TaskStatus) -> TaskState:
        async with self._changed:
            await self._changed.wait_for(
                lambda: any(s.task_id == task_id and s.status is status for s in self.states)
            )
        return next(s for s in self.states if s.task_id == task_id and s.status is status)

    async def ended(self, task_id: str) -> TaskState:
        async with self._changed:
            await self._changed.wait_for(
                lambda: any(s.task_id == task_id and s.terminal for s in self.states)
            )
        return next(s for s in self.states if s.task_id == task_id and s.terminal)


FETCHABLE = {"https://images.example/red.png": png((255, 0, 0))}


async def fetch_image(url: str, max_bytes: int) -> bytes:
    if url not in FETCHABLE:
        raise FetchRefused(f"The address {url} is not fetched: it is not public.")
    return FETCHABLE[url]


def settings_for(model: Path, results: Path, **changes: object) -> DiffusionSettings:
    preset = ModelPreset(model=str(model), width=SIZE, height=SIZE, steps=3, guidance=0.0)
    slow = preset.model_copy(update={"steps": 200})
    return DiffusionSettings(
        device="cpu",
        dtype="float32",
        presets={"turbo": preset, "guided": preset, "slow": slow},
        versions={"7": "turbo", "6": "guided", "6.1": "slow"},
        results_dir=str(results),
        preview_interval=0.2,
        threads=1,
        **changes,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("results")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def provider(tiny_sd_dir: Path, results: Path) -> AsyncIterator[DiffusionProvider]:
    local = DiffusionProvider(settings_for(tiny_sd_dir, results), fetch_image=fetch_image)
    pushes = Pushes()
    local.use_notify(pushes)
    local.start()
    yield local
    await local.aclose()


@pytest.fixture
def pushes(provider: DiffusionProvider) -> Pushes:
    fresh = Pushes()
    provider.use_notify(fresh)
    return fresh


async def imagine(
    provider: DiffusionProvider, pushes: Pushes, prompt: str, job_id: int
) -> TaskState:
    submitted = await provider.submit_imagine(ImagineRequest(job_id=job_id, prompt=prompt))
    return await pushes.ended(submitted.task_id)


def size_of(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


async def test_a_grid_renders_with_progress_and_its_buttons(
    provider: DiffusionProvider, pushes: Pushes
) -> None:
    done = await imagine(provider, pushes, "a red lighthouse --seed 11", job_id=1)
    assert done.status is TaskStatus.SUCCESS
    assert done.state == "1"
    grid = await provider.result_image(done, max_bytes=10_000_000)
    assert size_of(grid.data) == (2 * SIZE, 2 * SIZE)
    assert grid.content_type == "image/png"
    actions = [(b.action, b.index) for b in done.buttons]
    assert (Action.UPSCALE, 1) in actions
    assert (Action.VARIATION, 4) in actions
    assert (Action.REROLL, 0) in actions
    progress = [s.progress for s in pushes.states if s.status is TaskStatus.IN_PROGRESS]
    assert progress == sorted(progress)
    assert progress[-1] > 0
    assert provider.ready is not None
    assert provider.ready.device == "cpu"


async def test_the_same_seed_renders_the_same_grid_and_another_seed_does_not(
    provider: DiffusionProvider, pushes: Pushes
) -> None:
    first = await imagine(provider, pushes, "a cat --seed 5", job_id=2)
    again = await imagine(provider, pushes, "a cat --seed 5", job_id=3)
    other = await imagine(provider, pushes, "a cat --seed 6", job_id=4)
    images = [
        (await provider.result_image(state, max_bytes=10_000_000)).data
        for state in (first, again, other)
    ]
    assert images[0] == images[1]
    assert images[0] != images[2]


async def test_upscale_then_single_image_actions(
    provider: DiffusionProvider, pushes: Pushes
) -> None:
    grid = await imagine(provider, pushes, "a castle --seed 3", job_id=5)
    upscale = await provider.submit_action(
        ActionRequest(
            job_id=6,
            parent_task_id=grid.task_id,
            action=Action.UPSCALE,
            index=2,
            prompt="a castle --seed 3",
        )
    )
    single = await pushes.ended(upscale.task_id)
    assert single.status is TaskStatus.SUCCESS
    image = await provider.result_image(single, max_bytes=10_000_000)
    assert size_of(image.data) == (2 * SIZE, 2 * SIZE)
    offered = {b.action for b in single.buttons}
    assert {
        Action.VARY_SUBTLE,
        Action.ZOOM_OUT_2X,
        Action.PAN_LEFT,
        Action.UPSCALE_CREATIVE,
    } <= offered
    for job_id, action in enumerate((Action.VARY_STRONG, Action.ZOOM_OUT_1_5X, Action.PAN_UP), 7):
        submitted = await provider.submit_action(
            ActionRequest(
                job_id=job_id,
                parent_task_id=single.task_id,
                action=action,
                prompt="a castle --seed 3",
            )
        )
        state = await pushes.ended(submitted.task_id)
        assert state.status is TaskStatus.SUCCESS, state.failure_message


async def test_variation_of_a_grid_image_is_a_new_grid(
    provider: DiffusionProvider, pushes: Pushes
) -> None:
    grid = await imagine(provider, pushes, "a forest --seed 9", job_id=10)
    submitted = await provider.submit_action(
        ActionRequest(
            job_id=11,
            parent_task_id=grid.task_id,
            action=Action.VARIATION,
            index=1,
            prompt="a forest --seed 9",
        )
    )
    variation = await pushes.ended(submitted.task_id)
    assert variation.status is TaskStatus.SUCCESS
    data = (await provider.result_image(variation, max_bytes=10_000_000)).data
    assert size_of(data) == (2 * SIZE, 2 * SIZE)
    assert data != (await provider.result_image(grid, max_bytes=10_000_000)).data


async def test_an_image_prompt_is_fetched_through_the_given_fetcher(
    provider: DiffusionProvider, pushes: Pushes
) -> None:
    done = await imagine(
        provider, pushes, "https://images.example/red.png a red room --seed 1", job_id=12
    )
    assert done.status is TaskStatus.SUCCESS
    refused = await imagine(
        provider, pushes, "https://unknown.example/x.png a room --seed 1", job_id=13
    )
    assert refused.status is TaskStatus.FAILURE
    assert refused.failure_kind is FailureKind.INVALID_REQUEST
    assert "https://unknown.example/x.png" in (refused.failure_message or "")


async def test_what_cannot_be_honoured_is_said_on_the_result(
    provider: DiffusionProvider, pushes: Pushes
) -> None:
    done = await imagine(provider, pushes, "a portrait --s 500 --seed 2", job_id=14)
    assert done.status is TaskStatus.SUCCESS
    assert any("--stylize" in note for note in done.notes)


async def test_a_version_without_a_preset_is_refused_before_anything_renders(
    provider: DiffusionProvider,
) -> None:
    with pytest.raises(ProviderRejected, match=r"no model for V5\.2\. Use --v 7"):
        await provider.submit_imagine(ImagineRequest(job_id=15, prompt="a cat --v 5.2 --seed 1"))


async def test_an_expired_parent_is_refused(provider: DiffusionProvider) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await provider.submit_action(
            ActionRequest(job_id=16, parent_task_id="999-0000dead", action=Action.UPSCALE, index=1)
        )
    assert caught.value.kind is FailureKind.PARENT_EXPIRED
    assert "expired" in caught.value.message


async def test_cancel_stops_a_render_at_its_next_step(
    provider: DiffusionProvider, pushes: Pushes
) -> None:
    submitted = await provider.submit_imagine(
        ImagineRequest(job_id=17, prompt="a long render --v 6.1 --seed 1")
    )
    await pushes.until(submitted.task_id, TaskStatus.IN_PROGRESS)
    assert await provider.cancel(submitted.task_id)
    ended = await pushes.ended(submitted.task_id)
    assert ended.status is TaskStatus.CANCEL
    # The device is free again: the next job renders.
    after = await imagine(provider, pushes, "a quick one --seed 2", job_id=18)
    assert after.status is TaskStatus.SUCCESS


async def test_a_waiting_task_is_dropped_on_cancel(
    provider: DiffusionProvider, pushes: Pushes
) -> None:
    running = await provider.submit_imagine(
        ImagineRequest(job_id=19, prompt="a long one --v 6.1 --seed 1")
    )
    waiting = await provider.submit_imagine(ImagineRequest(job_id=20, prompt="next --seed 1"))
    assert await provider.cancel(waiting.task_id)
    assert (await pushes.ended(waiting.task_id)).status is TaskStatus.CANCEL
    assert await provider.cancel(running.task_id)
    await pushes.ended(running.task_id)
    assert not await provider.cancel("404-00000000")


async def test_a_crash_fails_that_render_and_the_next_one_gets_a_fresh_worker(
    provider: DiffusionProvider, pushes: Pushes
) -> None:
    submitted = await provider.submit_imagine(
        ImagineRequest(job_id=21, prompt="doomed --v 6.1 --seed 1")
    )
    await pushes.until(submitted.task_id, TaskStatus.IN_PROGRESS)
    pid = provider.worker_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    failed = await pushes.ended(submitted.task_id)
    assert failed.status is TaskStatus.FAILURE
    assert failed.failure_kind is FailureKind.PROVIDER_ERROR
    assert "stopped unexpectedly" in (failed.failure_message or "")
    after = await imagine(provider, pushes, "survivor --seed 4", job_id=22)
    assert after.status is TaskStatus.SUCCESS
    assert provider.worker_pid not in (None, pid)


async def test_a_restart_reads_finished_tasks_back_and_renders_unfinished_ones(
    tiny_sd_dir: Path, results: Path, provider: DiffusionProvider, pushes: Pushes
) -> None:
    finished = await imagine(provider, pushes, "kept --seed 8", job_id=23)
    # An unfinished task as a killed bot leaves it: its request on disk, no result.
    provider_b = DiffusionProvider(settings_for(tiny_sd_dir, results), fetch_image=fetch_image)
    pushes_b = Pushes()
    provider_b.use_notify(pushes_b)
    try:
        (results / "24-0000beef").mkdir()
        (results / "24-0000beef" / "request.json").write_text(
            '{"job_id": 24, "prompt": "left behind --seed 3"}'
        )
        states = await provider_b.fetch_many([finished.task_id, "24-0000beef", "25-00000000"])
        assert states[finished.task_id].status is TaskStatus.SUCCESS
        assert "25-00000000" not in states
        resumed = await pushes_b.ended("24-0000beef")
        assert resumed.status is TaskStatus.SUCCESS
        found = await provider_b.find_by_state("24")
        assert found is not None
        assert found.task_id == "24-0000beef"
        assert await provider_b.find_by_state("26") is None
        grid = await provider_b.result_image(states[finished.task_id], max_bytes=10_000_000)
        assert size_of(grid.data) == (2 * SIZE, 2 * SIZE)
    finally:
        await provider_b.aclose()


async def test_a_large_grid_is_re_encoded_to_fit(
    provider: DiffusionProvider, pushes: Pushes
) -> None:
    done = await imagine(provider, pushes, "noise --seed 12", job_id=27)
    full = await provider.result_image(done, max_bytes=10_000_000)
    small = await provider.result_image(done, max_bytes=len(full.data) - 1)
    assert small.content_type == "image/jpeg"
    assert len(small.data) < len(full.data)
    assert small.filename == f"{done.task_id}.jpg"
