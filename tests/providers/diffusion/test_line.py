"""The render line with a scripted worker: the races of crashes, cancels and shutdowns.

No process and no torch here: ``ScriptedWorker`` speaks the same messages as the real
worker process, on the event loop, so each ordering is reproduced exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.errors import FailureKind
from bot.providers.base import TaskStatus
from bot.providers.diffusion.line import RenderLine
from bot.providers.diffusion.messages import (
    Cancelled,
    Died,
    Done,
    Preload,
    Ready,
    Render,
    RenderBatch,
    Step,
    WorkerEvent,
    WorkerOptions,
)
from bot.providers.diffusion.planning import Planner
from bot.providers.diffusion.presets import ModelPreset
from bot.providers.diffusion.process import WorkerStartError
from bot.providers.diffusion.results import ResultStore, StoredRequest
from bot.providers.diffusion.spec import RenderResult
from bot.providers.diffusion.tasks import LocalTask
from bot.settings import DiffusionSettings
from tests.providers.diffusion.test_results import png, rgb

COLOURS = ((1, 2, 3), (4, 5, 6), (7, 8, 9), (10, 11, 12))
RESULT = RenderResult(pixels=tuple(rgb(c) for c in COLOURS), width=8, height=6, steps_run=2)
RESULT_PNGS = tuple(png(c) for c in COLOURS)
"""RESULT's images as the store gives them back."""


class ScriptedWorker:
    """A worker whose answers the test gives, one render at a time."""

    def __init__(
        self,
        on_event: Callable[[WorkerEvent], None],
        fail_start: BaseException | None,
        activity: asyncio.Event,
    ) -> None:
        self.on_event = on_event
        self.fail_start = fail_start
        self.activity = activity
        self.sent: list[Render | RenderBatch | Preload] = []
        self.cancelled: list[int] = []
        self.stopped = False
        self.started = asyncio.Event()
        self.release_start = asyncio.Event()
        self.release_start.set()
        self.pid = 1234

    async def start(self, *, within: float) -> Ready:
        self.started.set()
        await self.release_start.wait()
        if self.fail_start is not None:
            raise self.fail_start
        return Ready(device="cpu", dtype="float32", pid=self.pid)

    async def send(self, message: Render | RenderBatch | Preload) -> None:
        self.sent.append(message)
        self.activity.set()

    def cancel(self, seq: int) -> None:
        self.cancelled.append(seq)

    async def stop(self) -> None:
        self.stopped = True

    def renders(self) -> list[Render | RenderBatch]:
        return [message for message in self.sent if isinstance(message, Render | RenderBatch)]


class Workers:
    """The factory the line is given: every worker it made, and how the next one starts."""

    def __init__(self) -> None:
        self.made: list[ScriptedWorker] = []
        self.next_start_failure: BaseException | None = None
        self.hold_starts = False
        self.activity = asyncio.Event()

    def __call__(
        self, options: WorkerOptions, on_event: Callable[[WorkerEvent], None]
    ) -> ScriptedWorker:
        worker = ScriptedWorker(on_event, self.next_start_failure, self.activity)
        if self.hold_starts:
            worker.release_start.clear()
        self.next_start_failure = None
        self.made.append(worker)
        self.activity.set()
        return worker

    async def until(self, done: Callable[[], bool]) -> None:
        """Wait until ``done()``, re-checked after every worker made and message sent."""
        while not done():
            self.activity.clear()
            await self.activity.wait()


class Line:
    def __init__(self, tmp_path: Path, batch_jobs: int = 1) -> None:
        preset = ModelPreset(model="/tiny", width=64, height=64, steps=2)
        self.settings = DiffusionSettings(
            presets={"turbo": preset},
            versions={"7": "turbo"},
            results_dir=str(tmp_path),
            batch_jobs=batch_jobs,
        )
        self.store = ResultStore(tmp_path, retention_seconds=100.0)
        self.workers = Workers()
        self.changes: list[tuple[str, TaskStatus]] = []
        self.changed = asyncio.Condition()

        async def fetch_image(url: str, max_bytes: int) -> bytes:
            raise AssertionError("no image prompts here")

        self.line = RenderLine(
            self.settings,
            WorkerOptions(),
            Planner(self.store, self.settings, fetch_image),
            self.store,
            changed=self._note,
            worker_factory=self.workers,  # type: ignore[arg-type]
        )
        self.runner: asyncio.Task[None] | None = None

    def _note(self, task: LocalTask) -> None:
        self.changes.append((task.task_id, task.status))

    def start(self) -> None:
        self.runner = asyncio.create_task(self.line.run())

    async def close(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
            await asyncio.gather(self.runner, return_exceptions=True)
        await self.line.aclose()

    def add(self, job_id: int, prompt: str = "a cat --seed 1") -> LocalTask:
        task_id = f"{job_id}-{job_id:08x}"
        request = StoredRequest(job_id=job_id, prompt=prompt)
        self.store.save_request(task_id, request)
        task = LocalTask(task_id=task_id, request=request)
        self.line.add(task)
        return task

    async def rendering(self, worker_index: int, count: int = 1) -> ScriptedWorker:
        """Wait until worker ``worker_index`` was handed ``count`` renders."""
        made = self.workers.made
        await self.workers.until(
            lambda: len(made) > worker_index and len(made[worker_index].renders()) >= count
        )
        return made[worker_index]


@pytest.fixture
async def line(tmp_path: Path) -> Line:
    made = Line(tmp_path)
    yield made  # type: ignore[misc]
    await made.close()


async def test_a_render_ends_as_the_worker_answers_and_its_images_are_stored(line: Line) -> None:
    line.start()
    task = line.add(1)
    worker = await line.rendering(0)
    [render] = worker.renders()
    worker.on_event(Step(seq=render.seq, step=1, total=2, preview=b"p"))
    assert (task.progress, task.preview) == (50, b"p")
    worker.on_event(Done(seq=render.seq, result=RESULT))
    await line.line.wait_idle()
    assert task.status is TaskStatus.SUCCESS
    assert line.store.images(task.task_id) == RESULT_PNGS
    assert isinstance(worker.sent[0], Preload)  # the default model, loaded ahead


async def test_a_start_that_raises_fails_that_job_and_the_line_goes_on(line: Line) -> None:
    line.workers.next_start_failure = OSError(24, "Too many open files")
    line.start()
    await asyncio.sleep(0)
    first = line.add(1)
    # Warm-up took the failing start; the first job starts a fresh worker and renders.
    worker = await line.rendering(1)
    worker.on_event(Done(seq=worker.renders()[0].seq, result=RESULT))
    await line.line.wait_idle()
    assert first.status is TaskStatus.SUCCESS


async def test_a_worker_that_cannot_start_fails_the_job_with_the_reason(line: Line) -> None:
    line.start()
    await line.rendering(0, count=0)
    await line.line.wait_idle()
    line.workers.made[0].on_event(Died(exitcode=1))  # the warm-up worker dies while idle
    line.workers.next_start_failure = WorkerStartError("torch is not installed")
    task = line.add(1)
    await line.line.wait_idle()
    assert task.status is TaskStatus.FAILURE
    assert (task.failure_kind, task.failure_message) == (
        FailureKind.UNAVAILABLE,
        "torch is not installed",
    )


async def test_a_crash_mid_render_fails_it_and_a_late_word_from_that_worker_is_ignored(
    line: Line,
) -> None:
    line.start()
    crashed = line.add(1)
    old = await line.rendering(0)
    old.on_event(Died(exitcode=-9))
    survivor = line.add(2)
    new = await line.rendering(1)
    assert old.stopped
    # The dead worker's reader thread may still deliver something: it must not count.
    old.on_event(Died(exitcode=-9))
    old.on_event(Done(seq=new.renders()[0].seq, result=RESULT))
    assert survivor.status is TaskStatus.IN_PROGRESS
    new.on_event(Done(seq=new.renders()[0].seq, result=RESULT))
    await line.line.wait_idle()
    assert crashed.status is TaskStatus.FAILURE
    assert "stopped unexpectedly (exit code -9)" in (crashed.failure_message or "")
    assert survivor.status is TaskStatus.SUCCESS


async def test_cancel_of_the_running_render_names_its_seq(line: Line) -> None:
    line.start()
    task = line.add(1)
    worker = await line.rendering(0)
    seq = worker.renders()[0].seq
    line.line.cancel(task)
    assert worker.cancelled == [seq]
    worker.on_event(Cancelled(seq=seq))
    await line.line.wait_idle()
    assert task.status is TaskStatus.CANCEL


async def test_a_done_that_crosses_a_cancel_still_ends_cancelled(line: Line) -> None:
    line.start()
    task = line.add(1)
    worker = await line.rendering(0)
    line.line.cancel(task)
    worker.on_event(Done(seq=worker.renders()[0].seq, result=RESULT))
    await line.line.wait_idle()
    assert task.status is TaskStatus.CANCEL
    assert line.store.result(task.task_id) is None


async def test_a_task_cancelled_while_it_waits_never_renders(line: Line) -> None:
    line.start()
    first = line.add(1)
    waiting = line.add(2)
    worker = await line.rendering(0)
    line.line.cancel(waiting)
    assert waiting.status is TaskStatus.CANCEL
    assert (waiting.task_id, TaskStatus.CANCEL) in line.changes
    worker.on_event(Done(seq=worker.renders()[0].seq, result=RESULT))
    await line.line.wait_idle()
    assert first.status is TaskStatus.SUCCESS
    assert len(worker.renders()) == 1


async def test_a_bad_stored_request_fails_one_job_not_the_line(line: Line) -> None:
    line.start()
    broken = line.add(1, prompt="a cat --v 5.2")  # a version this server has no model for
    fine = line.add(2)
    worker = await line.rendering(0)
    worker.on_event(Done(seq=worker.renders()[0].seq, result=RESULT))
    await line.line.wait_idle()
    assert broken.status is TaskStatus.FAILURE
    assert "no model for V5.2" in (broken.failure_message or "")
    assert fine.status is TaskStatus.SUCCESS


async def test_shutdown_while_the_worker_starts_stops_it(line: Line) -> None:
    line.workers.hold_starts = True
    line.start()
    await line.workers.until(lambda: bool(line.workers.made))
    worker = line.workers.made[0]
    await worker.started.wait()
    await line.close()  # while start() is still waiting for the renderer
    assert worker.stopped
