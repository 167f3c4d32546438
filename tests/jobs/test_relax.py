"""The relax heap picks in exactly the order of the old full scan (kept here as reference)."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable

import pytest

from bot.jobs.entries import CanStart, QueueEntry
from bot.jobs.policy import FairScheduler, Limits
from bot.jobs.relax import RelaxClass
from bot.model import SpeedMode


class ReferenceRelax:
    """The policy before the heap: scan every waiting user, least decayed usage first."""

    def __init__(self, half_life: float) -> None:
        self._half_life = half_life
        self._users: dict[tuple[int, int], deque[QueueEntry]] = {}
        self._usage: dict[int, tuple[float, float]] = {}
        self.size = 0

    def add(self, entry: QueueEntry, *, front: bool) -> None:
        queue = self._users.setdefault((entry.guild_id, entry.user_id), deque())
        if front:
            queue.appendleft(entry)
        else:
            queue.append(entry)
        self.size += 1

    def discard(self, entry: QueueEntry) -> None:
        key = (entry.guild_id, entry.user_id)
        queue = self._users[key]
        queue.remove(entry)
        if not queue:
            del self._users[key]
        self.size -= 1

    def usage(self, user_id: int, now: float) -> float:
        value, at = self._usage.get(user_id, (0.0, now))
        return float(value * 0.5 ** (max(0.0, now - at) / self._half_life))

    def pick(self, can_start: CanStart, now: float) -> QueueEntry | None:
        best: QueueEntry | None = None
        best_key: tuple[float, int] | None = None
        for (guild_id, user_id), queue in self._users.items():
            if not can_start(guild_id, user_id):
                continue
            key = (self.usage(user_id, now), queue[0].job_id)
            if best_key is None or key < best_key:
                best, best_key = queue[0], key
        if best is not None:
            self.discard(best)
            self._usage[best.user_id] = (self.usage(best.user_id, now) + best.weight, now)
        return best


def replay(
    relax: RelaxClass | ReferenceRelax, seed: int, steps: int, blocked: Callable[[int], bool]
) -> list[int | None]:
    """A random mix of adds (some at the front), cancels and picks; the picks in order."""
    rng = random.Random(seed)
    waiting: dict[int, QueueEntry] = {}
    picked: list[int | None] = []
    now = 1_700_000_000.0
    users = rng.randint(1, 40)
    for job_id in range(1, steps + 1):
        now += rng.expovariate(1 / 300)
        roll = rng.random()
        if roll < 0.5:
            user = rng.randint(1, users)
            entry = QueueEntry(
                job_id, user % 3 + 1, user, SpeedMode.RELAX, rng.choice([250, 500, 1000, 2000])
            )
            waiting[job_id] = entry
            relax.add(entry, front=rng.random() < 0.1)
        elif roll < 0.6 and waiting:
            relax.discard(waiting.pop(rng.choice(list(waiting))))
        else:
            entry = relax.pick(lambda _, user, step=job_id: not blocked(user + step), now)
            picked.append(None if entry is None else entry.job_id)
            if entry is not None:
                del waiting[entry.job_id]
    assert relax.size == len(waiting)
    return picked


@pytest.mark.parametrize("seed", range(40))
def test_the_heap_picks_in_the_reference_order(seed: int) -> None:
    def blocked(value: int) -> bool:
        return value % 7 == 0  # some users at their running limit, changing pick to pick

    expected = replay(ReferenceRelax(3600.0), seed, 600, blocked)
    assert replay(RelaxClass(3600.0), seed, 600, blocked) == expected
    assert any(job_id is not None for job_id in expected)


@pytest.mark.parametrize("half_life", [60.0, 3600.0, 86_400.0])
def test_the_order_holds_for_any_half_life(half_life: float) -> None:
    expected = replay(ReferenceRelax(half_life), 99, 2000, lambda _: False)
    assert replay(RelaxClass(half_life), 99, 2000, lambda _: False) == expected


def test_superseded_heap_entries_are_compacted_away() -> None:
    relax = RelaxClass(3600.0)
    for job_id in range(1, 3):
        relax.add(QueueEntry(job_id, 1, job_id, SpeedMode.RELAX, 1000), front=False)
    for job_id in range(3, 1000):
        # The same two users, each pick re-keys one: the heap must not keep every old key.
        entry = relax.pick(lambda guild, user: True, float(job_id))
        assert entry is not None
        relax.add(QueueEntry(job_id, 1, entry.user_id, SpeedMode.RELAX, 1000), front=False)
    assert len(relax._heap) <= 2 * 2 + 64


def test_the_scheduler_uses_the_heap_order_with_running_limits() -> None:
    scheduler = FairScheduler(default_limits=Limits(running_per_user=1), relax_share=0.0)
    scheduler.add(QueueEntry(1, 1, 10, SpeedMode.RELAX, 1000))
    scheduler.add(QueueEntry(2, 1, 10, SpeedMode.RELAX, 1000))
    scheduler.add(QueueEntry(3, 1, 20, SpeedMode.RELAX, 1000))
    first = scheduler.pick(0.0)
    second = scheduler.pick(0.0)  # user 10 is at its limit: user 20 goes
    assert (first and first.job_id, second and second.job_id) == (1, 3)
    assert scheduler.pick(0.0) is None
    scheduler.finish(1)
    third = scheduler.pick(1.0)
    assert third is not None
    assert third.job_id == 2
