"""Several dispatchers on one database: they share the queue and the slots, and one adopts a
silent one's jobs exactly once."""

import asyncio

from bot.jobs.adoption import Adoption
from bot.jobs.lease import DispatchLease, worker_lease_name
from bot.model import JobState
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
