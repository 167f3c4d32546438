"""The queue every process shares on PostgreSQL: one policy over all the processes.

Each test runs two or three dispatchers on one PostgreSQL schema, each on its own connection,
as separate processes would. The cases are those where a policy kept per process goes wrong:
a process that did not see a guild or member served serves them again.
"""

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.errors import ProviderBusy
from bot.jobs.lease import DispatchLease, worker_lease_name
from bot.jobs.policy import Limits
from bot.jobs.shared_queue import SharedQueue
from bot.model import Job, JobState, SpeedMode
from bot.settings import SchedulerSettings, Settings
from bot.store.jobs import JobRepository
from bot.store.queue_reads import Defaults
from bot.store.queue_state import GuildMove, QueueState
from tests.fakes.memory_provider import MemoryProvider, Script
from tests.jobs.conftest import Clock, Make, System, states
from tests.postgres import postgres_schema

GUILD_A, GUILD_B = 111, 222
ANY_LIMITS = Defaults(per_user=100, per_guild=0)
ALICE, BOB = 1001, 1002


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """PostgreSQL only: SQLite dispatches from one process's memory (``bot.jobs.policy``)."""
    async with postgres_schema() as url:
        yield url


async def worker(
    make: Make,
    name: str,
    clock: Clock,
    provider: MemoryProvider,
    *,
    limit: int = 1,
    scheduler: SchedulerSettings | None = None,
) -> System:
    """A dispatcher claiming as ``name`` with its own model of ``limit`` slots (a GPU worker)."""
    slots = Settings().provider.model_copy(update={"max_concurrency": limit})
    system = await make(
        clock=clock, provider=provider, scheduler=scheduler, provider_settings=slots
    )
    lease = DispatchLease(
        system.db, name, name=worker_lease_name(name), duration=15.0, clock=clock, monotonic=clock
    )
    await lease.acquire()
    system.dispatcher.own_as(name, endpoint=f"local:{name}", limit=limit)
    return system


def running() -> MemoryProvider:
    """A provider whose tasks, once started, run until the test says (no progress either)."""
    return MemoryProvider(default=Script(ending="stall"))


async def started(system: System) -> list[int]:
    return sorted(request.job_id for request in system.provider.requests)


async def test_a_guild_one_process_served_waits_for_the_next_guild_at_another(make: Make) -> None:
    clock, provider = Clock(), running()
    first = await worker(make, "worker@a:1:0.a", clock, provider)
    second = await worker(make, "worker@b:2:0.b", clock, provider)
    flood = await first.imagine("a1", "a2", "a3", guild=GUILD_A, user=ALICE)
    await first.dispatcher.drain()
    other = await second.imagine("b1", guild=GUILD_B, user=BOB)
    await second.dispatcher.drain()
    # Each process alone would have served guild A again: it never saw A's turn taken.
    assert await started(first) == [flood[0].id, other[0].id]


async def test_members_take_turns_over_every_process(make: Make) -> None:
    clock, provider = Clock(), running()
    first = await worker(make, "worker@a:1:0.a", clock, provider)
    second = await worker(make, "worker@b:2:0.b", clock, provider)
    alice = await first.imagine("a1", "a2", "a3", guild=GUILD_A, user=ALICE)
    bob = await second.imagine("b1", guild=GUILD_A, user=BOB)
    await first.dispatcher.drain()
    await second.dispatcher.drain()
    # Alice went to the back of the line when the first process served her.
    assert await started(first) == [alice[0].id, bob[0].id]


async def test_relax_goes_to_the_member_with_the_least_usage_over_every_process(
    make: Make,
) -> None:
    clock, provider = Clock(), running()
    first = await worker(make, "worker@a:1:0.a", clock, provider)
    second = await worker(make, "worker@b:2:0.b", clock, provider)
    alice = await first.imagine("a1", "a2", guild=GUILD_A, user=ALICE, speed=SpeedMode.RELAX)
    await first.dispatcher.drain()
    bob = await second.imagine("b1", guild=GUILD_A, user=BOB, speed=SpeedMode.RELAX)
    await second.dispatcher.drain()
    # Alice's usage was charged where the second process reads it: Bob, newer, goes first.
    assert await started(first) == [alice[0].id, bob[0].id]


async def test_a_running_limit_holds_over_classes_and_processes_claiming_at_once(
    make: Make,
) -> None:
    clock, provider = Clock(), running()
    one_each = SchedulerSettings(max_running_per_user=1)
    systems = [
        await worker(make, f"worker@{n}:{n}:0.x", clock, provider, limit=4, scheduler=one_each)
        for n in range(3)
    ]
    jobs = await systems[0].imagine("f1", "f2", guild=GUILD_A, user=ALICE)
    jobs += await systems[0].imagine("t1", "t2", guild=GUILD_A, user=ALICE, speed=SpeedMode.TURBO)
    await asyncio.gather(*(system.dispatcher.drain() for system in systems))
    assert len(provider.requests) == 1
    assert sorted(await states(systems[0], *(job.id for job in jobs))) == sorted(
        [JobState.RUNNING, *[JobState.QUEUED] * 3]
    )


async def test_concurrent_claims_take_every_job_once_and_serve_every_guild(make: Make) -> None:
    clock = Clock()
    provider = MemoryProvider(default=Script(polls=1))
    systems = [
        await worker(make, f"worker@{n}:{n}:0.x", clock, provider, limit=2) for n in range(3)
    ]
    jobs = await flood_four_guilds(systems[0])
    for _ in range(8):
        await asyncio.gather(*(system.dispatcher.drain() for system in systems))
    submitted = [request.job_id for request in provider.requests]
    assert sorted(submitted) == sorted(job.id for job in jobs)  # each once, none skipped
    guild_of = {job.id: job.guild_id for job in jobs}
    # They submit in no set order (each after its own commit): every guild within two rounds.
    first = {guild_of[job_id] for job_id in submitted[:12]}
    assert first == {500, 501, 502, 503}, [guild_of[job_id] for job_id in submitted]


async def test_a_claim_beside_another_serves_the_guilds_the_other_does_not_hold(
    make: Make,
) -> None:
    clock, provider = Clock(), running()
    first = await worker(make, "worker@a:1:0.a", clock, provider)
    second = await worker(make, "worker@b:2:0.b", clock, provider)
    jobs = await flood_four_guilds(first)
    guild_of = {job.id: job.guild_id for job in jobs}
    queue = SharedQueue(JobRepository(), Limits(running_per_user=10), relax_share=0.0)

    async def claim(system: System) -> set[int]:
        async with system.db.transaction(serialised=False) as tx:
            taken = await queue.claim(tx, 2, now=clock(), endpoint=None, limit=0, fields={})
            return {guild_of[job.id] for job, _ in taken}

    async with first.db.transaction(serialised=False) as holding:
        held = await queue.claim(holding, 2, now=clock(), endpoint=None, limit=0, fields={})
        # While the first claim is open, the second takes the next guilds round the ring.
        beside = await asyncio.wait_for(claim(second), timeout=30)
    assert {guild_of[job.id] for job, _ in held} == {500, 501}
    assert beside == {503}  # 502 is read and locked by the first claim, beyond its two slots
    assert await claim(first) == {502, 500}


async def test_processes_claiming_in_turn_follow_one_round_robin(make: Make) -> None:
    clock = Clock()
    provider = MemoryProvider(default=Script(polls=1))
    systems = [
        await worker(make, f"worker@{n}:{n}:0.x", clock, provider, limit=1) for n in range(3)
    ]
    jobs = await flood_four_guilds(systems[0])
    for _ in range(8):
        for system in systems:
            await system.dispatcher.drain()
    guild_of = {job.id: job.guild_id for job in jobs}
    order = [guild_of[request.job_id] for request in provider.requests]
    assert order[:12] == [500, 501, 502, 503] * 3


async def flood_four_guilds(system: System) -> list[Job]:
    """Six jobs in each of four guilds, guild by guild."""
    return [
        job
        for guild in range(4)
        for job in await system.imagine(
            *[f"job {guild}-{n}" for n in range(6)], guild=500 + guild, user=700 + guild
        )
    ]


async def test_a_claim_passes_over_a_guild_another_claim_holds(make: Make) -> None:
    clock, provider = Clock(), running()
    first = await worker(make, "worker@a:1:0.a", clock, provider)
    second = await worker(make, "worker@b:2:0.b", clock, provider)
    await first.imagine("a1", guild=GUILD_A, user=ALICE)
    other = await first.imagine("b1", guild=GUILD_B, user=BOB)
    state = QueueState()
    async with first.db.transaction(serialised=False) as holding:
        held = await state.ring(holding, SpeedMode.FAST, 1, ANY_LIMITS)
        assert [guild.guild_id for guild in held.guilds] == [GUILD_A]
        # The other claim does not wait for this transaction: it serves the next guild.
        await asyncio.wait_for(second.dispatcher.drain(), timeout=30)
        assert await started(second) == [other[0].id]


async def test_a_job_queued_while_a_claim_empties_its_guild_still_waits(make: Make) -> None:
    clock, provider = Clock(), running()
    first = await worker(make, "worker@a:1:0.a", clock, provider)
    second = await worker(make, "worker@b:2:0.b", clock, provider)
    watcher = await make(clock=clock, provider=provider)
    gone = await first.imagine("a1", guild=GUILD_A, user=ALICE)
    await first.jobs.cancel(gone[0].id, user_id=ALICE)  # guild A waits in the ring, empty
    state = QueueState()
    async with first.db.transaction(serialised=False) as claim:
        # A claim finds guild A with nothing waiting: A leaves the ring...
        held = await state.ring(claim, SpeedMode.FAST, 1, ANY_LIMITS)
        assert [guild.guild_id for guild in held.guilds] == [GUILD_A]
        await state.move(claim, SpeedMode.FAST, [GuildMove(GUILD_A, 0, False, None, active=False)])
        # ...while another process queues a job there: its upsert waits for this claim.
        queueing = asyncio.create_task(second.imagine("a2", guild=GUILD_A, user=BOB))
        await waiting_for_a_row_lock(watcher)
    late = await queueing
    await first.dispatcher.drain()
    assert await started(first) == [late[0].id]


async def waiting_for_a_row_lock(system: System) -> None:
    """Until a session waits for another's row lock (the queueing transaction's upsert)."""
    async with asyncio.timeout(30):
        while True:
            async with system.db.transaction(serialised=False) as tx:
                waiting = await tx.fetch_value(
                    "SELECT COUNT(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'"
                )
            if waiting:
                return
            await asyncio.sleep(0.01)


async def test_a_job_handed_back_by_a_busy_provider_waits_again_for_any_process(
    make: Make,
) -> None:
    clock, provider = Clock(), running()
    first = await worker(make, "worker@a:1:0.a", clock, provider)
    second = await worker(make, "worker@b:2:0.b", clock, provider)
    provider.submit_errors.append(ProviderBusy("queue full"))
    jobs = await first.imagine("a1", guild=GUILD_A, user=ALICE)
    await first.dispatcher.drain()
    assert await states(first, jobs[0].id) == [JobState.QUEUED]
    await second.dispatcher.drain()
    assert await states(first, jobs[0].id) == [JobState.RUNNING]
    assert (first.dispatcher.in_flight, second.dispatcher.in_flight) == (0, 1)
    assert await started(second) == [jobs[0].id] * 2  # refused once, then taken once


async def test_the_queue_depth_counts_every_processs_waiting_jobs(make: Make) -> None:
    clock, provider = Clock(), running()
    first = await worker(make, "worker@a:1:0.a", clock, provider)
    second = await worker(make, "worker@b:2:0.b", clock, provider)
    await first.imagine("a1", "a2", "a3", guild=GUILD_A, user=ALICE)
    await second.imagine("r1", guild=GUILD_B, user=BOB, speed=SpeedMode.RELAX)
    await first.dispatcher.drain()
    await second.dispatcher.drain()
    # One fast job each is running: one fast job waits, and the relax one.
    assert second.dispatcher.waiting_by_speed() == {
        SpeedMode.TURBO: 0,
        SpeedMode.FAST: 1,
        SpeedMode.RELAX: 1,
    }
    assert second.dispatcher.waiting == 2


async def test_members_at_their_limit_do_not_hide_one_further_down_the_line(make: Make) -> None:
    clock, provider = Clock(), running()
    one_each = SchedulerSettings(max_running_per_user=1)
    first = await worker(make, "worker@a:1:0.a", clock, provider, limit=10, scheduler=one_each)
    for user in range(2001, 2011):  # more members than a claim for one slot reads
        await first.imagine(f"first {user}", f"second {user}", guild=GUILD_A, user=user)
    await first.dispatcher.drain()
    assert len(provider.requests) == 10  # each one's first job: their second ones wait
    late = await first.imagine("late", guild=GUILD_A, user=ALICE)
    second = await worker(make, "worker@b:2:0.b", clock, provider, scheduler=one_each)
    await second.dispatcher.drain()
    assert provider.requests[-1].job_id == late[0].id


async def test_relax_gets_no_slot_a_fast_job_further_round_the_ring_could_use(
    make: Make,
) -> None:
    clock, provider = Clock(), running()
    one_per_guild = SchedulerSettings(max_running_per_guild=1)
    first = await worker(make, "worker@a:1:0.a", clock, provider, limit=10, scheduler=one_per_guild)
    for guild in range(900, 910):  # more guilds than a claim for one slot reads
        await first.imagine("first", "second", guild=guild, user=ALICE)
    await first.dispatcher.drain()
    assert len(provider.requests) == 10  # each guild at its limit, one job waiting in each
    await first.imagine("background", guild=GUILD_A, user=BOB, speed=SpeedMode.RELAX)
    fast = await first.imagine("fast", guild=GUILD_B, user=BOB)
    second = await worker(make, "worker@b:2:0.b", clock, provider, scheduler=one_per_guild)
    await second.dispatcher.drain()
    assert provider.requests[-1].job_id == fast[0].id


async def test_a_job_queued_by_an_older_release_is_found_at_the_next_start(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, provider = Clock(), running()
    gateway = await make(clock=clock, provider=provider)
    with monkeypatch.context() as patch:
        patch.setattr(QueueState, "activate", _as_before_the_shared_queue)
        old = await gateway.imagine("queued by an older release", guild=GUILD_A, user=ALICE)
    first = await worker(make, "worker@a:1:0.a", clock, provider)
    await first.dispatcher.drain()
    assert await started(first) == [old[0].id]


async def _as_before_the_shared_queue(*_args: object, **_options: object) -> None:
    """Queueing without the shared queue's rows, as a release before it did."""


async def test_a_cancel_beside_a_claim_cancels_what_the_claim_took(make: Make) -> None:
    clock, provider = Clock(), running()
    first = await worker(make, "worker@a:1:0.a", clock, provider)
    second = await worker(make, "worker@b:2:0.b", clock, provider)
    watcher = await make(clock=clock, provider=provider)
    jobs = await first.imagine("a1", guild=GUILD_A, user=ALICE)
    async with first.db.transaction(serialised=False) as claim:
        taken = await JobRepository().transition(
            claim, jobs[0].id, JobState.QUEUED, JobState.SUBMITTING, now=clock()
        )
        assert taken is not None
        # The cancel read the job queued; its change waits for this claim to commit.
        cancelling = asyncio.create_task(second.jobs.cancel(jobs[0].id, user_id=ALICE))
        await waiting_for_a_row_lock(watcher)
    cancelled = await cancelling
    assert cancelled.state is JobState.CANCELLED
    assert await states(first, jobs[0].id) == [JobState.CANCELLED]


async def test_a_member_read_twice_in_one_claim_is_counted_with_what_it_took(
    make: Make,
) -> None:
    clock, provider = Clock(), running()
    two_each = SchedulerSettings(max_running_per_user=2)
    first = await worker(make, "worker@a:1:0.a", clock, provider, scheduler=two_each)
    busy = await first.imagine("already running", guild=GUILD_A, user=ALICE)
    await first.dispatcher.drain()
    await first.imagine("turbo", guild=GUILD_A, user=BOB, speed=SpeedMode.TURBO)
    more = await first.imagine("a1", "a2", "a3", guild=GUILD_A, user=ALICE)
    second = await worker(make, "worker@b:2:0.b", clock, provider, limit=4, scheduler=two_each)
    await second.dispatcher.drain()  # turbo first, then fast: guild A is read twice
    alice = await states(first, busy[0].id, *(job.id for job in more))
    assert alice.count(JobState.RUNNING) == 2
