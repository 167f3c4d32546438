"""The render line with ``batch_jobs`` > 1: which waiting tasks share a call, and its endings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.providers.base import TaskStatus
from bot.providers.diffusion.messages import BatchDone, Cancelled, Done, Failed, Render, RenderBatch
from tests.providers.diffusion.test_line import RESULT, RESULT_PNGS, Line


@pytest.fixture
async def batching(tmp_path: Path) -> Line:
    made = Line(tmp_path, batch_jobs=4)
    yield made  # type: ignore[misc]
    await made.close()


def task_ids(message: Render | RenderBatch) -> list[str]:
    jobs = (message.job,) if isinstance(message, Render) else message.jobs
    return [job.task_id for job in jobs]


async def test_only_tasks_of_one_shape_share_a_call(batching: Line) -> None:
    first = batching.add(1, "a cat --seed 1")
    tiled = batching.add(2, "a cat --tile --seed 2")
    same = batching.add(3, "a dog --seed 3")
    batching.start()
    worker = await batching.rendering(0)
    [batch] = worker.renders()
    assert isinstance(batch, RenderBatch)
    assert task_ids(batch) == [first.task_id, same.task_id]
    assert (first.status, same.status, tiled.queue_position) == (TaskStatus.IN_PROGRESS,) * 2 + (1,)
    worker.on_event(BatchDone(seq=batch.seq, results=(RESULT, RESULT)))
    worker = await batching.rendering(0, count=2)
    alone = worker.renders()[1]
    assert isinstance(alone, Render)
    assert task_ids(alone) == [tiled.task_id]
    worker.on_event(Done(seq=alone.seq, result=RESULT))
    await batching.line.wait_idle()
    assert {t.status for t in (first, tiled, same)} == {TaskStatus.SUCCESS}
    assert batching.store.images(same.task_id) == RESULT_PNGS


async def test_a_cancel_stops_the_batch_and_the_others_render_again(batching: Line) -> None:
    kept = batching.add(1, "a cat --seed 1")
    dropped = batching.add(2, "a dog --seed 2")
    batching.start()
    worker = await batching.rendering(0)
    [batch] = worker.renders()
    batching.line.cancel(dropped)
    assert worker.cancelled == [batch.seq]
    worker.on_event(Cancelled(seq=batch.seq))
    worker = await batching.rendering(0, count=2)
    again = worker.renders()[1]
    assert task_ids(again) == [kept.task_id]
    assert dropped.status is TaskStatus.CANCEL
    worker.on_event(Done(seq=again.seq, result=RESULT))
    await batching.line.wait_idle()
    assert kept.status is TaskStatus.SUCCESS


async def test_a_failed_batch_fails_every_task(batching: Line) -> None:
    tasks = [batching.add(1, "a cat --seed 1"), batching.add(2, "a dog --seed 2")]
    batching.start()
    worker = await batching.rendering(0)
    [batch] = worker.renders()
    worker.on_event(Failed(seq=batch.seq, reason="error", message="The render failed."))
    await batching.line.wait_idle()
    assert [task.status for task in tasks] == [TaskStatus.FAILURE] * 2
    assert {task.failure_message for task in tasks} == {"The render failed."}


async def test_a_task_that_cannot_be_planned_fails_alone(batching: Line) -> None:
    fine = batching.add(1, "a cat --seed 1")
    broken = batching.add(2, "a cat --v 5.2")  # a version this server has no model for
    batching.start()
    worker = await batching.rendering(0)
    [render] = worker.renders()
    assert isinstance(render, Render)
    assert task_ids(render) == [fine.task_id]
    assert broken.status is TaskStatus.FAILURE
    worker.on_event(Done(seq=render.seq, result=RESULT))
    await batching.line.wait_idle()
    assert fine.status is TaskStatus.SUCCESS


async def test_one_job_a_call_when_batching_is_off(tmp_path: Path) -> None:
    line = Line(tmp_path)
    try:
        tasks = [line.add(1, "a cat --seed 1"), line.add(2, "a dog --seed 2")]
        line.start()
        worker = await line.rendering(0)
        assert isinstance(worker.renders()[0], Render)
        worker.on_event(Done(seq=worker.renders()[0].seq, result=RESULT))
        worker = await line.rendering(0, count=2)
        assert task_ids(worker.renders()[1]) == [tasks[1].task_id]
        worker.on_event(Done(seq=worker.renders()[1].seq, result=RESULT))
        await line.line.wait_idle()
        assert [task.status for task in tasks] == [TaskStatus.SUCCESS] * 2
    finally:
        await line.close()
