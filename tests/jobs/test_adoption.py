"""Several dispatchers on one database: they share the queue and the slots, and one adopts a
silent one's jobs exactly once."""

import asyncio

import pytest

from bot.jobs.adoption import Adoption
from bot.jobs.lease import DispatchLease, worker_lease_name
from bot.model import JobState
from bot.settings import Settings
from bot.store.jobs import PendingJob
from tests.fakes.memory_provider import MemoryProvider, Script
from tests.jobs.conftest import Clock, FakeSleep, Make, System, states

LEASE = 15.0


async def dispatcher_of(
    make: Make, name: str, clock: Clock, provider: MemoryProvider, limit: int = 3
) -> System:
    """A dispatcher that owns what it claims as ``name``, holding its own lease."""
    system = await make(clock=clock, provider=provider)
    lease = DispatchLease(
        system.db, name, name=worker_lease_name(name), duration=LEASE, clock=clock, monotonic=clock
    )
    await lease.acquire()
    system.dispatcher.own_as(name, endpoint="the-provider", limit=limit)
    return system


def adoption(system: System, name: str, clock: Clock) -> Adoption:
    return Adoption(
        system.db,
        name,
        system.dispatcher.adopt,
        duration=LEASE,
        monotonic=clock,
        sleep=FakeSleep(clock),
    )


async def test_a_silent_dispatchers_jobs_are_adopted_once_and_finish_once(make: Make) -> None:
    clock = Clock()
    provider = MemoryProvider(default=Script(polls=1_000))  # they run until told
    first = await dispatcher_of(make, "worker@a:1:0.a", clock, provider)
    jobs = await first.imagine("one", "two", "three", "four")
    await first.dispatcher.drain()
    assert await states(first, *(job.id for job in jobs)) == [JobState.RUNNING] * 3 + [
        JobState.QUEUED
    ]
    second = await dispatcher_of(make, "worker@b:2:0.b", clock, provider)
    third = await dispatcher_of(make, "worker@c:3:0.c", clock, provider)
    await second.dispatcher.drain()  # the slots are the first's: nothing to claim here
    assert len(provider.requests) == 3
    watching, also_watching = (
        adoption(second, "worker@b:2:0.b", clock),
        adoption(third, "worker@c:3:0.c", clock),
    )
    assert await watching.look() == 0  # the first renewed a moment ago: watching it
    assert await also_watching.look() == 0
    clock.advance(LEASE)  # the first never renews again; the others' own leases are renewed
    for system, name in ((second, "worker@b:2:0.b"), (third, "worker@c:3:0.c")):
        await DispatchLease(
            system.db, name, name=worker_lease_name(name), duration=LEASE, clock=clock
        ).claim()
    adopted = await watching.look()
    assert adopted == 3  # the three running; the queued one was in every queue already
    assert await also_watching.look() == 0  # exactly once
    # The adopted three end; then the queued one starts in a slot they left, and ends.
    for _ in range(2):
        for task in provider.tasks.values():
            provider.finish(task.task_id)
        await second.dispatcher.drain()
        await third.dispatcher.drain()
    assert await states(second, *(job.id for job in jobs)) == [JobState.SUCCEEDED] * 4
    assert len(provider.requests) == 4  # nothing submitted twice
    delivered = [job.id for job, _ in second.deliverer.delivered + third.deliverer.delivered]
    delivered += [job.id for job, _ in first.deliverer.delivered]
    assert sorted(delivered) == sorted(job.id for job in jobs)


async def test_the_provider_slots_are_counted_over_every_dispatcher(make: Make) -> None:
    clock = Clock()
    provider = MemoryProvider(default=Script(polls=1_000))
    first = await dispatcher_of(make, "worker@a:1:0.a", clock, provider)
    second = await dispatcher_of(make, "worker@b:2:0.b", clock, provider)
    await first.imagine("one", "two")
    await first.dispatcher.drain()
    await second.imagine("three", "four", user=4242)
    await second.dispatcher.drain()
    await first.dispatcher.drain()
    assert provider.active == 3  # the limit at the endpoint, though each has three slots


async def test_concurrent_dispatchers_claim_every_job_once(make: Make) -> None:
    clock = Clock()
    provider = MemoryProvider(default=Script(polls=1))
    names = ("worker@a:1:0.a", "worker@b:2:0.b", "worker@c:3:0.c")
    systems = [await dispatcher_of(make, name, clock, provider, limit=9) for name in names]
    jobs = [
        job
        for user in range(6)
        for job in await systems[0].imagine(*[f"job {user}-{n}" for n in range(5)], user=100 + user)
    ]
    # Each drains on its own connection, at once: claims race for the same queue.
    await asyncio.gather(*(system.dispatcher.drain() for system in systems))
    for _ in range(3):  # what one left for another to finish
        await asyncio.gather(*(system.dispatcher.drain() for system in systems))
    submitted = [request.job_id for request in provider.requests]
    assert sorted(submitted) == sorted(job.id for job in jobs)  # each once, none skipped
    assert await states(systems[0], *(job.id for job in jobs)) == [JobState.SUCCEEDED] * 30
    posted = [job.id for system in systems for job, _ in system.deliverer.delivered]
    assert sorted(posted) == sorted(job.id for job in jobs)


async def renew(system: System, name: str, clock: Clock) -> None:
    await DispatchLease(
        system.db, name, name=worker_lease_name(name), duration=LEASE, clock=clock
    ).claim()


async def test_a_members_running_limit_holds_over_every_dispatcher(make: Make) -> None:
    clock = Clock()
    provider = MemoryProvider(default=Script(polls=1_000))
    one_each = Settings().scheduler.model_copy(update={"max_running_per_user": 1})
    systems = []
    for name in ("worker@a:1:0.a", "worker@b:2:0.b"):
        system = await make(clock=clock, provider=provider, scheduler=one_each)
        await renew(system, name, clock)
        system.dispatcher.own_as(name, endpoint="the-provider", limit=3)
        systems.append(system)
    await systems[0].imagine("one", "two", "three")
    for system in systems:
        await system.dispatcher.drain()
    assert provider.active == 1


async def test_jobs_whose_adoption_failed_here_are_adopted_again(make: Make) -> None:
    clock = Clock()
    provider = MemoryProvider(default=Script(polls=1_000))
    first = await dispatcher_of(make, "worker@a:1:0.a", clock, provider)
    jobs = await first.imagine("one", "two")
    await first.dispatcher.drain()
    second = await dispatcher_of(make, "worker@b:2:0.b", clock, provider)
    failures = [ConnectionError("the database went away mid-adoption")]

    async def adopt_once_failing(adopted: list[PendingJob]) -> None:
        if failures:
            raise failures.pop()
        await second.dispatcher.adopt(adopted)

    watching = Adoption(
        second.db,
        "worker@b:2:0.b",
        adopt_once_failing,
        duration=LEASE,
        monotonic=clock,
        sleep=FakeSleep(clock),
    )
    await watching.look()
    clock.advance(LEASE)
    await renew(second, "worker@b:2:0.b", clock)
    with pytest.raises(ConnectionError):
        await watching.look()
    assert await watching.look() == 2  # given back, and taken again
    for task in provider.tasks.values():
        provider.finish(task.task_id)
    await second.dispatcher.drain()
    assert await states(second, *(job.id for job in jobs)) == [JobState.SUCCEEDED] * 2


async def test_a_job_being_posted_leaves_its_slot_at_the_provider(make: Make) -> None:
    clock = Clock()
    provider = MemoryProvider(default=Script(polls=1))
    system = await dispatcher_of(make, "worker@a:1:0.a", clock, provider, limit=1)
    posting = asyncio.Event()
    release = asyncio.Event()

    async def slow_post() -> None:
        posting.set()
        await release.wait()

    system.deliverer.before_return = slow_post
    await system.imagine("one", "two")
    drained = asyncio.create_task(system.dispatcher.drain())
    await posting.wait()
    async with system.dispatcher._lock:
        await system.dispatcher._round(force_poll=True)
    assert len(provider.requests) == 2  # the second started while the first was posted
    release.set()
    await drained
    await system.dispatcher.drain()


async def test_cancelling_an_adopted_job_stops_its_task(make: Make) -> None:
    clock = Clock()
    provider = MemoryProvider(default=Script(polls=1_000))
    first = await dispatcher_of(make, "worker@a:1:0.a", clock, provider, limit=1)
    (job,) = await first.imagine("one")
    second = await dispatcher_of(make, "worker@b:2:0.b", clock, provider, limit=1)
    await second.dispatcher.recover()
    await first.dispatcher.drain()
    await second.dispatcher.drain()  # picked here too, no room: it waits here again
    watching = adoption(second, "worker@b:2:0.b", clock)
    await watching.look()
    clock.advance(LEASE)
    await renew(second, "worker@b:2:0.b", clock)
    assert await watching.look() == 1
    assert second.dispatcher.waiting == 0  # running here now, not also waiting
    await second.jobs.cancel(job.id, user_id=job.user_id)
    assert provider.cancelled == [job.provider_task_id or "task-1"]
