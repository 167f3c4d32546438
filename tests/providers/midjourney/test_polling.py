"""Adaptive poll pacing."""

from __future__ import annotations

import pytest

from bot.providers.base import TaskState, TaskStatus
from bot.providers.midjourney.polling import PollPacer


def state(task_id: str, status: TaskStatus, progress: int = 0) -> TaskState:
    return TaskState(task_id=task_id, status=status, progress=progress)


def test_interval_bounds_and_movement() -> None:
    pacer = PollPacer(4.0)
    assert pacer.interval == 4.0
    for progress in (10, 20, 30, 40):
        pacer.observe([state("a", TaskStatus.IN_PROGRESS, progress)])
    assert pacer.interval == pytest.approx(1.0)  # never below a quarter
    for _ in range(10):
        pacer.observe([state("a", TaskStatus.IN_PROGRESS, 40)])
    assert pacer.interval == pytest.approx(4.0)  # never above the setting


def test_forgotten_task_seen_again_counts_as_movement() -> None:
    pacer = PollPacer(2.0)
    for _ in range(4):
        pacer.observe([state("b", TaskStatus.SUBMITTED)])
    assert pacer.interval == pytest.approx(2.0)
    pacer.forget(["b"])
    pacer.observe([state("b", TaskStatus.SUBMITTED)])
    assert pacer.interval == pytest.approx(1.0)
