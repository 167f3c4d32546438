"""The worker process's side, run in this process: start-up failures and render outcomes."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pytest

from bot.providers.diffusion import worker
from bot.providers.diffusion.errors import (
    DeviceOutOfMemory,
    RenderCancelled,
    RenderFailed,
    WeightsUnavailable,
)
from bot.providers.diffusion.messages import (
    BatchDone,
    Cancelled,
    Done,
    Failed,
    Render,
    RenderBatch,
    StartFailed,
    Step,
    WorkerOptions,
)
from bot.providers.diffusion.presets import ModelPreset
from bot.providers.diffusion.spec import RenderJob, RenderResult, WeightedText

JOB = RenderJob(
    task_id="1-00000001",
    preset=ModelPreset(model="/nowhere"),
    positive=(WeightedText("a cat", 1.0),),
    negative=(),
    width=64,
    height=64,
    steps=3,
    guidance=0.0,
    seeds=(1, 2, 3, 4),
)
RESULT = RenderResult(pixels=(b"rgb",), width=64, height=64, steps_run=3)


@dataclass
class Shared:
    value: int = 0


@dataclass
class ScriptedRenderer:
    """Stands in for the torch renderer: steps, then the scripted ending."""

    ending: BaseException | None = None
    previews: list[bytes | None] = field(default_factory=lambda: [b"p1", None, None])
    stop_checks: list[bool] = field(default_factory=list)

    def render(
        self,
        job: RenderJob,
        *,
        on_step: Callable[[int, int, bytes | None], None],
        should_stop: Callable[[], bool],
    ) -> RenderResult:
        for step, preview in enumerate(self.previews, start=1):
            on_step(step, len(self.previews), preview)
            self.stop_checks.append(should_stop())
        if self.ending is not None:
            raise self.ending
        return RESULT

    def render_batch(
        self,
        jobs: Sequence[RenderJob],
        *,
        on_step: Callable[[int, int, bytes | None], None],
        should_stop: Callable[[], bool],
    ) -> list[RenderResult]:
        return [self.render(jobs[0], on_step=on_step, should_stop=should_stop)] * len(jobs)


@pytest.fixture
def pipe() -> Iterator[
    tuple[multiprocessing.connection.Connection, multiprocessing.connection.Connection]
]:
    ours, theirs = multiprocessing.Pipe(duplex=True)
    yield ours, theirs
    ours.close()
    theirs.close()


def drain(conn: multiprocessing.connection.Connection) -> list[object]:
    received = []
    while conn.poll():
        received.append(conn.recv())
    return received


def test_a_render_reports_each_step_then_its_result(pipe: tuple) -> None:
    ours, theirs = pipe
    renderer = ScriptedRenderer()
    outcome = worker._render(renderer, Render(seq=5, job=JOB), theirs, Shared())  # type: ignore[arg-type]
    assert outcome == Done(seq=5, result=RESULT)
    assert drain(ours) == [
        Step(seq=5, step=1, total=3, preview=b"p1"),
        Step(seq=5, step=2, total=3, preview=None),
        Step(seq=5, step=3, total=3, preview=None),
    ]


def test_previews_are_throttled_before_the_pipe(pipe: tuple) -> None:
    ours, theirs = pipe
    renderer = ScriptedRenderer(previews=[b"p1", b"p2", b"p3", b"p4"])
    times = iter([10.0, 10.5, 11.0, 11.2, 12.3])
    worker._render(  # type: ignore[arg-type]
        renderer,
        Render(seq=1, job=JOB),
        theirs,
        Shared(),
        preview_interval=1.0,
        clock=lambda: next(times),
    )
    assert [step.preview for step in drain(ours)] == [b"p1", None, b"p3", None]


def test_the_cancel_flag_names_the_render_it_stops(pipe: tuple) -> None:
    _, theirs = pipe
    renderer = ScriptedRenderer()
    worker._render(renderer, Render(seq=5, job=JOB), theirs, Shared(value=4))  # type: ignore[arg-type]
    worker._render(renderer, Render(seq=5, job=JOB), theirs, Shared(value=5))  # type: ignore[arg-type]
    assert renderer.stop_checks == [False, False, False, True, True, True]


def test_a_batch_is_one_answer_and_one_cancel_stops_it(pipe: tuple) -> None:
    _, theirs = pipe
    batch = RenderBatch(seq=7, jobs=(JOB, JOB))
    answer = worker._render(ScriptedRenderer(), batch, theirs, Shared())  # type: ignore[arg-type]
    assert answer == BatchDone(seq=7, results=(RESULT, RESULT))
    cancelled = ScriptedRenderer(ending=RenderCancelled())
    assert worker._render(cancelled, batch, theirs, Shared(value=7)) == Cancelled(seq=7)  # type: ignore[arg-type]
    assert cancelled.stop_checks == [True, True, True]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RenderCancelled(), Cancelled(seq=5)),
        (
            DeviceOutOfMemory("out of memory: try --ar 1:1"),
            Failed(5, "out_of_memory", "out of memory: try --ar 1:1"),
        ),
        (WeightsUnavailable("no weights for x"), Failed(5, "weights", "no weights for x")),
        (RenderFailed("bad image"), Failed(5, "error", "bad image")),
        (ZeroDivisionError(), Failed(5, "error", "The renderer failed on this image.")),
    ],
)
def test_each_failure_becomes_one_answer(
    pipe: tuple, error: BaseException, expected: object
) -> None:
    _, theirs = pipe
    renderer = ScriptedRenderer(ending=error)
    assert worker._render(renderer, Render(seq=5, job=JOB), theirs, Shared()) == expected  # type: ignore[arg-type]


def test_a_missing_torch_is_one_line_naming_the_extra(
    pipe: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, theirs = pipe
    # A None entry makes the import fail as if the package were not installed.
    monkeypatch.setitem(sys.modules, "bot.providers.diffusion.engine", None)
    assert worker._start(theirs, WorkerOptions()) is None
    [answer] = drain(ours)
    assert isinstance(answer, StartFailed)
    assert "pip install -e '.[local]'" in answer.message
    assert "\n" not in answer.message
