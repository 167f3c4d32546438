"""The provider around its line, with a scripted worker: endings on disk, and after close."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.errors import ProviderUnavailable
from bot.providers.base import ImagineRequest, TaskState, TaskStatus
from bot.providers.diffusion.presets import ModelPreset
from bot.providers.diffusion.provider import DiffusionProvider
from bot.settings import DiffusionSettings
from tests.providers.diffusion.test_line import Workers


async def no_fetch(url: str, max_bytes: int) -> bytes:
    raise AssertionError("no image prompts here")


def make(tmp_path: Path, workers: Workers) -> DiffusionProvider:
    preset = ModelPreset(model="/tiny", width=64, height=64, steps=2)
    settings = DiffusionSettings(
        presets={"turbo": preset}, versions={"7": "turbo"}, results_dir=str(tmp_path)
    )
    return DiffusionProvider(settings, fetch_image=no_fetch, worker_factory=workers)  # type: ignore[arg-type]


async def test_a_cancelled_task_reads_back_cancelled_after_a_restart(tmp_path: Path) -> None:
    workers = Workers()
    first = make(tmp_path, workers)
    seen: list[TaskState] = []
    recorded = asyncio.Event()

    async def note(state: TaskState) -> None:
        seen.append(state)
        if state.status is TaskStatus.CANCEL:
            recorded.set()  # pushed after its ending was written to disk

    first.use_notify(note)
    running = await first.submit_imagine(ImagineRequest(job_id=1, prompt="a --seed 1"))
    waiting = await first.submit_imagine(ImagineRequest(job_id=2, prompt="b --seed 1"))
    assert await first.cancel(waiting.task_id)
    await recorded.wait()
    await first.aclose()

    again = make(tmp_path, Workers())
    states = await again.fetch_many([waiting.task_id, running.task_id])
    assert states[waiting.task_id].status is TaskStatus.CANCEL
    # The one that never finished renders again.
    assert states[running.task_id].status is TaskStatus.SUBMITTED
    await again.aclose()


async def test_a_closed_provider_takes_no_work_and_starts_nothing(tmp_path: Path) -> None:
    workers = Workers()
    provider = make(tmp_path, workers)
    await provider.aclose()
    with pytest.raises(ProviderUnavailable, match="shutting down"):
        await provider.submit_imagine(ImagineRequest(job_id=1, prompt="a --seed 1"))
    provider.start()
    assert workers.made == []
