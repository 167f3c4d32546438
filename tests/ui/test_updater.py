"""EditThrottle: throttling, coalescing and final edits, with an injected clock."""

from __future__ import annotations

import asyncio

import pytest

from bot.ui.updater import EditThrottle


class StepClock:
    """A clock that only moves when the throttle sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self.gate: asyncio.Event | None = None

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.gate is not None:
            await self.gate.wait()
        self.now += seconds


class Recorder:
    def __init__(self, clock: StepClock) -> None:
        self.clock = clock
        self.applied: list[tuple[int, str, bool, float]] = []

    async def __call__(self, key: int, payload: str, final: bool) -> None:
        self.applied.append((key, payload, final, self.clock.now))


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def recorder(clock: StepClock) -> Recorder:
    return Recorder(clock)


@pytest.fixture
def throttle(clock: StepClock, recorder: Recorder) -> EditThrottle[str]:
    return EditThrottle(recorder, interval=2.0, clock=clock, sleep=clock.sleep)


async def test_first_edit_is_immediate(throttle: EditThrottle[str], recorder: Recorder) -> None:
    throttle.push(1, "a")
    await throttle.flush()
    assert recorder.applied == [(1, "a", False, 100.0)]


async def test_edits_within_the_interval_coalesce_to_the_latest(
    throttle: EditThrottle[str], recorder: Recorder, clock: StepClock
) -> None:
    throttle.push(1, "10%")
    await throttle.flush()
    for text in ("20%", "30%", "40%"):
        throttle.push(1, text)
    await throttle.flush()
    assert [payload for _, payload, _, _ in recorder.applied] == ["10%", "40%"]
    assert recorder.applied[1][3] - recorder.applied[0][3] == pytest.approx(2.0)
    assert clock.sleeps == [pytest.approx(2.0)]


async def test_keys_are_throttled_independently(
    throttle: EditThrottle[str], recorder: Recorder
) -> None:
    throttle.push(1, "a")
    throttle.push(2, "b")
    await throttle.flush()
    assert sorted(key for key, *_ in recorder.applied) == [1, 2]
    assert {at for *_, at in recorder.applied} == {100.0}


async def test_final_payload_skips_the_wait_and_closes_the_key(
    throttle: EditThrottle[str], recorder: Recorder, clock: StepClock
) -> None:
    clock.gate = asyncio.Event()  # the worker would sleep forever without the final push
    throttle.push(1, "10%")
    await asyncio.sleep(0)
    throttle.push(1, "50%")
    await asyncio.sleep(0)
    throttle.push(1, "done", final=True)
    await throttle.flush()
    throttle.push(1, "60%")  # a late event after the end
    await throttle.flush()
    assert [(payload, final) for _, payload, final, _ in recorder.applied] == [
        ("10%", False),
        ("done", True),
    ]


async def test_forget_drops_pending_and_later_pushes(
    throttle: EditThrottle[str], recorder: Recorder
) -> None:
    throttle.forget(3)
    throttle.push(3, "x")
    await throttle.flush()
    assert recorder.applied == []


async def test_a_failing_apply_does_not_stop_the_key(clock: StepClock) -> None:
    calls: list[str] = []

    async def flaky(key: int, payload: str, final: bool) -> None:
        calls.append(payload)
        if payload == "boom":
            raise RuntimeError(payload)

    throttle = EditThrottle(flaky, interval=1.0, clock=clock, sleep=clock.sleep)
    throttle.push(1, "boom")
    await throttle.flush()
    throttle.push(1, "ok", final=True)
    await throttle.flush()
    assert calls == ["boom", "ok"]


async def test_close_cancels_sleeping_workers(
    throttle: EditThrottle[str], recorder: Recorder, clock: StepClock
) -> None:
    throttle.push(1, "a")
    await throttle.flush()
    clock.gate = asyncio.Event()
    throttle.push(1, "b")
    await asyncio.sleep(0)
    assert throttle.busy
    await throttle.close()
    assert not throttle.busy
    assert [payload for _, payload, _, _ in recorder.applied] == ["a"]
