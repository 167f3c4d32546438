from itertools import count
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.jobs.entries import QueueEntry
from bot.jobs.policy import FairScheduler, Limits
from bot.model import SpeedMode

UNLIMITED = Limits(running_per_user=10_000)


def make(
    *, limits: Limits = UNLIMITED, relax_share: float = 0.0, quantum: int = 1000
) -> FairScheduler:
    return FairScheduler(default_limits=limits, relax_share=relax_share, quantum=quantum)


class Feed:
    """Adds entries with increasing job ids, like the database hands them out."""

    def __init__(self, scheduler: FairScheduler) -> None:
        self.scheduler = scheduler
        self.ids = count(1)

    def add(
        self,
        guild: int,
        user: int,
        *,
        speed: SpeedMode = SpeedMode.FAST,
        weight: int = 1000,
        n: int = 1,
    ) -> list[int]:
        ids = []
        for _ in range(n):
            job_id = next(self.ids)
            self.scheduler.add(QueueEntry(job_id, guild, user, speed, weight))
            ids.append(job_id)
        return ids


def drain_order(scheduler: FairScheduler, *, now: float = 0.0) -> list[int]:
    order = []
    while (entry := scheduler.pick(now)) is not None:
        order.append(entry.job_id)
        scheduler.finish(entry.job_id)
    return order


def test_one_user_is_first_in_first_out() -> None:
    feed = Feed(make())
    ids = feed.add(1, 10, n=5)
    assert drain_order(feed.scheduler) == ids


def test_users_of_a_guild_take_turns() -> None:
    feed = Feed(make())
    a = feed.add(1, 10, n=3)
    b = feed.add(1, 20, n=2)
    assert drain_order(feed.scheduler) == [a[0], b[0], a[1], b[1], a[2]]


def test_a_flooding_guild_delays_another_guild_by_at_most_one_pick() -> None:
    feed = Feed(make())
    feed.add(1, 10, n=1000)
    first = feed.scheduler.pick(0.0)
    assert first is not None
    (late,) = feed.add(2, 20)
    picks = [feed.scheduler.pick(0.0) for _ in range(2)]
    assert late in [entry.job_id for entry in picks if entry is not None]


@pytest.mark.parametrize(("light", "heavy", "ratio"), [(250, 1000, 4), (500, 1000, 2)])
def test_guilds_share_work_not_job_counts(light: int, heavy: int, ratio: int) -> None:
    feed = Feed(make())
    light_ids = set(feed.add(1, 10, weight=light, n=400))
    feed.add(2, 20, weight=heavy, n=100)
    picked = [feed.scheduler.pick(0.0) for _ in range(50 * (ratio + 1))]
    light_count = sum(entry is not None and entry.job_id in light_ids for entry in picked)
    heavy_count = len(picked) - light_count
    assert light_count == ratio * heavy_count


def test_turbo_goes_before_fast_before_relax() -> None:
    feed = Feed(make())
    relax = feed.add(1, 10, speed=SpeedMode.RELAX)
    fast = feed.add(2, 20, speed=SpeedMode.FAST)
    turbo = feed.add(3, 30, speed=SpeedMode.TURBO)
    assert drain_order(feed.scheduler) == turbo + fast + relax


def test_relax_gets_its_reserved_share_while_fast_jobs_wait() -> None:
    feed = Feed(make(relax_share=0.25))
    fast = set(feed.add(1, 10, n=40))
    feed.add(2, 20, speed=SpeedMode.RELAX, n=10)
    classes = ["F" if job_id in fast else "R" for job_id in drain_order(feed.scheduler)[:15]]
    assert "".join(classes) == "FFFFRFFFFRFFFFR"


def test_relax_share_zero_waits_for_fast_to_empty() -> None:
    feed = Feed(make(relax_share=0.0))
    fast = feed.add(1, 10, n=20)
    relax = feed.add(2, 20, speed=SpeedMode.RELAX, n=2)
    assert drain_order(feed.scheduler) == fast + relax


def test_relax_prefers_the_user_with_less_recent_relax_use() -> None:
    scheduler = make()
    feed = Feed(scheduler)
    heavy = feed.add(1, 10, speed=SpeedMode.RELAX, n=3)
    started = [scheduler.pick(0.0) for _ in range(2)]
    assert [entry.job_id for entry in started if entry] == heavy[:2]
    (light,) = feed.add(1, 20, speed=SpeedMode.RELAX)
    nxt = scheduler.pick(10.0)
    assert nxt is not None
    assert nxt.job_id == light


def test_relax_usage_decays_so_old_use_counts_less_than_recent_use() -> None:
    scheduler = make()
    feed = Feed(scheduler)
    feed.add(1, 10, speed=SpeedMode.RELAX, n=2)
    assert len(drain_order(scheduler, now=0.0)) == 2
    feed.add(1, 20, speed=SpeedMode.RELAX)
    assert len(drain_order(scheduler, now=3 * 3600.0)) == 1
    (recent,) = feed.add(1, 20, speed=SpeedMode.RELAX)
    (old,) = feed.add(1, 10, speed=SpeedMode.RELAX)
    # Two jobs three half-lives ago weigh a quarter of one job just now.
    assert drain_order(scheduler, now=3 * 3600.0) == [old, recent]


def test_running_limit_per_user_lets_others_go_first() -> None:
    feed = Feed(make(limits=Limits(running_per_user=1)))
    a = feed.add(1, 10, n=3)
    b = feed.add(1, 20, n=1)
    first, second = feed.scheduler.pick(0.0), feed.scheduler.pick(0.0)
    assert [first and first.job_id, second and second.job_id] == [a[0], b[0]]
    assert feed.scheduler.pick(0.0) is None
    feed.scheduler.finish(a[0])
    third = feed.scheduler.pick(0.0)
    assert third is not None
    assert third.job_id == a[1]


def test_running_limit_per_guild_from_its_configuration() -> None:
    scheduler = make()
    scheduler.set_limits(1, Limits(running_per_user=5, running_per_guild=2))
    feed = Feed(scheduler)
    feed.add(1, 10, n=2)
    feed.add(1, 20, n=2)
    (other,) = feed.add(2, 30)
    picked = [scheduler.pick(0.0) for _ in range(4)]
    ids = [entry.job_id for entry in picked if entry is not None]
    assert len(ids) == 3
    assert other in ids


def test_requeue_keeps_the_jobs_place() -> None:
    feed = Feed(make())
    a = feed.add(1, 10, n=2)
    b = feed.add(2, 20, n=1)
    first = feed.scheduler.pick(0.0)
    assert first is not None
    feed.scheduler.requeue(first.job_id)
    assert drain_order(feed.scheduler)[:2] in ([a[0], b[0]], [b[0], a[0]])
    assert feed.scheduler.waiting == 0


def test_removed_jobs_are_never_picked() -> None:
    feed = Feed(make())
    ids = feed.add(1, 10, n=3) + feed.add(2, 20, speed=SpeedMode.RELAX)
    assert feed.scheduler.remove(ids[1]) is not None
    assert feed.scheduler.remove(ids[3]) is not None
    assert feed.scheduler.remove(999) is None
    assert drain_order(feed.scheduler) == [ids[0], ids[2]]


def test_mark_running_counts_against_limits_and_duplicates_are_ignored() -> None:
    scheduler = make(limits=Limits(running_per_user=1))
    scheduler.mark_running(QueueEntry(1, 1, 10, SpeedMode.FAST, 1000))
    scheduler.add(QueueEntry(1, 1, 10, SpeedMode.FAST, 1000))
    scheduler.add(QueueEntry(2, 1, 10, SpeedMode.FAST, 1000))
    assert scheduler.waiting == 1
    assert scheduler.pick(0.0) is None
    scheduler.finish(1)
    entry = scheduler.pick(0.0)
    assert entry is not None
    assert entry.job_id == 2


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.integers(1, 3),
            st.integers(1, 4),
            st.sampled_from(list(SpeedMode)),
            st.integers(1, 3000),
        ),
        st.tuples(st.just("pick")),
        st.tuples(st.just("finish"), st.integers(0, 40)),
        st.tuples(st.just("remove"), st.integers(0, 40)),
        st.tuples(st.just("requeue"), st.integers(0, 40)),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(ops=operations, user_limit=st.integers(1, 3), relax_share=st.sampled_from([0.0, 0.1, 0.5]))
def test_every_job_is_picked_once_within_limits_and_none_is_lost(
    ops: list[tuple[Any, ...]], user_limit: int, relax_share: float
) -> None:
    scheduler = make(limits=Limits(running_per_user=user_limit), relax_share=relax_share)
    ids = count(1)
    waiting: set[int] = set()
    running: dict[int, tuple[int, int]] = {}
    for op in ops:
        if op[0] == "add":
            _, guild, user, speed, weight = op
            job_id = next(ids)
            scheduler.add(QueueEntry(job_id, guild, user, speed, weight))
            waiting.add(job_id)
        elif op[0] == "pick":
            entry = scheduler.pick(0.0)
            if entry is not None:
                assert entry.job_id in waiting
                waiting.discard(entry.job_id)
                running[entry.job_id] = (entry.guild_id, entry.user_id)
                key = (entry.guild_id, entry.user_id)
                assert sum(1 for other in running.values() if other == key) <= user_limit
        elif op[0] == "finish" and op[1] in running:
            assert scheduler.finish(op[1]) is not None
            del running[op[1]]
        elif op[0] == "remove":
            removed = scheduler.remove(op[1])
            assert (removed is not None) == (op[1] in waiting)
            waiting.discard(op[1])
        elif op[0] == "requeue" and op[1] in running:
            scheduler.requeue(op[1])
            del running[op[1]]
            waiting.add(op[1])
        assert scheduler.waiting == len(waiting)
        assert scheduler.running == len(running)
    for job_id in list(running):
        scheduler.finish(job_id)
    assert set(drain_order(scheduler)) == waiting


def test_waiting_by_speed_counts_each_class_as_jobs_come_and_go() -> None:
    feed = Feed(make())
    feed.add(1, 10, speed=SpeedMode.RELAX, n=2)
    feed.add(2, 20, speed=SpeedMode.FAST, n=3)
    feed.add(3, 30, speed=SpeedMode.TURBO)
    assert feed.scheduler.waiting_by_speed() == {
        SpeedMode.TURBO: 1,
        SpeedMode.FAST: 3,
        SpeedMode.RELAX: 2,
    }
    drain_order(feed.scheduler)
    assert feed.scheduler.waiting_by_speed() == dict.fromkeys(SpeedMode, 0)


entries = st.lists(
    st.tuples(
        st.integers(1, 4),
        st.integers(1, 4),
        st.sampled_from(list(SpeedMode)),
        st.sampled_from([0, 250, 1000, 4000]),
    ),
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(before=entries, bulk=entries, picks=st.integers(0, 5), repeat=st.integers(0, 6))
def test_add_many_is_add_for_each_entry_in_turn(
    before: list[tuple[int, int, SpeedMode, int]],
    bulk: list[tuple[int, int, SpeedMode, int]],
    picks: int,
    repeat: int,
) -> None:
    # Jobs already waiting or running (ids below the bulk's) are repeated in the bulk: both
    # ways must ignore them and keep every line's order, weights of 0 counting as 1.
    one, many = make(relax_share=0.1), make(relax_share=0.1)
    for scheduler in (one, many):
        for job_id, (guild, user, speed, weight) in enumerate(before, start=1):
            scheduler.add(QueueEntry(job_id, guild, user, speed, weight))
        for _ in range(picks):
            scheduler.pick(0.0)
    first = len(before) + 1
    ids = [*range(1, min(repeat, len(before)) + 1), *range(first, first + len(bulk))]
    rows = [*before[: min(repeat, len(before))], *bulk]

    def fresh() -> list[QueueEntry]:
        return [QueueEntry(i, g, u, s, w) for i, (g, u, s, w) in zip(ids, rows, strict=True)]

    for entry in fresh():
        one.add(entry)
    many.add_many(fresh())
    assert one.waiting == many.waiting
    assert one.waiting_by_speed() == many.waiting_by_speed()
    assert drain_order(one, now=5.0) == drain_order(many, now=5.0)
