import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from bot.jobs.lease import (
    TRUSTED_SHARE,
    DispatchLease,
    LeaseLost,
    _pid_namespace,
    gone_from_this_host,
    pid_of,
    process_name,
)
from bot.store.connect import open_database
from bot.store.database import Database
from bot.store.leases import Lease
from tests.jobs.conftest import Clock, FakeSleep


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await open_database(database_url)
    yield database
    await database.close()


def lease(db: Database, holder: str, clock: Clock) -> DispatchLease:
    return DispatchLease(
        db, holder, duration=15.0, clock=clock, monotonic=clock, sleep=FakeSleep(clock)
    )


def a_dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert done.returncode == 0
    # The child has been reaped; its pid is free (reuse within this test is negligible).
    return int(subprocess.check_output([sys.executable, "-c", "import os; print(os.getpid())"]))


def here(pid: int) -> str:
    """A holder name of this host and pid namespace for ``pid``."""
    return f"worker@{socket.gethostname()}:{pid}:{_pid_namespace()}.feedbeef"


def test_a_holder_names_role_host_pid_and_a_token_of_its_own() -> None:
    name = process_name("worker")
    assert name.startswith(f"worker@{socket.gethostname()}:{os.getpid()}:{_pid_namespace()}.")
    assert name != process_name("worker")  # two processes that share host and pid differ
    assert pid_of(name) == os.getpid()


def test_only_a_vanished_process_of_this_host_and_namespace_counts_as_gone() -> None:
    host = socket.gethostname()
    dead = a_dead_pid()
    assert gone_from_this_host(here(dead))
    assert not gone_from_this_host(here(os.getpid()))  # this very process
    assert not gone_from_this_host(here(1))  # alive
    assert not gone_from_this_host(f"worker@elsewhere.example:{dead}:{_pid_namespace()}.x")
    # Another container on this host: its pids are not ours to look up.
    assert not gone_from_this_host(f"worker@{host}:{dead}:4026531999.x")
    assert not gone_from_this_host("garbage")


async def test_one_holder_at_a_time_and_a_standby_takes_over_a_silent_one(db: Database) -> None:
    clock = Clock()
    first, second = lease(db, "run@a:1:0.a", clock), lease(db, "worker@b:2:0.b", clock)
    await first.acquire()
    assert first.held()
    assert await second.claim() is None  # watching from now
    clock.advance(5.0)
    assert await first.claim() is not None  # renewed in time
    clock.advance(5.0)
    assert await second.claim() is None  # a new renewal: watching again from now
    clock.advance(15.0)  # the first has been silent a whole lease length
    assert not first.held()
    taken = await second.claim()
    assert taken is not None
    assert taken.holder == "worker@b:2:0.b"
    with pytest.raises(LeaseLost, match="another process"):
        await first.keep()
    assert not first.held()


async def test_a_standby_waits_claiming_every_third_of_the_lease(db: Database) -> None:
    clock = Clock()
    holder = lease(db, "run@a:1:0.a", clock)
    await holder.acquire()
    sleep = FakeSleep(clock)
    standby = DispatchLease(
        db, "worker@b:2:0.b", duration=15.0, clock=clock, monotonic=clock, sleep=sleep
    )
    taken = await standby.acquire()
    assert taken.holder == "worker@b:2:0.b"
    assert sleep.delays == [5.0, 5.0, 5.0]  # read at 0, 5, 10 unchanged; at 15 silent enough


async def test_a_wall_clock_ahead_does_not_hand_the_lease_over_early(db: Database) -> None:
    clock = Clock()
    holder = lease(db, "run@a:1:0.a", clock)
    await holder.acquire()
    ahead = DispatchLease(
        db,
        "worker@b:2:0.b",
        duration=15.0,
        clock=lambda: clock() + 86_400,  # a day ahead, or stepped by NTP
        monotonic=clock,
        sleep=FakeSleep(clock),
    )
    assert await ahead.claim() is None
    clock.advance(5.0)
    assert await holder.claim() is not None
    assert await ahead.claim() is None


async def test_a_lease_lost_and_taken_anew_is_lost(db: Database) -> None:
    clock = Clock()
    first, second = lease(db, "run@a:1:0.a", clock), lease(db, "worker@b:2:0.b", clock)
    await first.acquire()
    await second.claim()
    clock.advance(15.0)
    await second.acquire()  # the first was silent: taken over
    await second.release()  # and given back: the row is free again
    # The first's next renewal would take it anew, but its view (queue, slots) is stale.
    with pytest.raises(LeaseLost):
        await first.keep()
    assert not first.held()


async def test_a_release_hands_the_lease_over_at_once(db: Database) -> None:
    clock = Clock()
    first, second = lease(db, "run@a:1:0.a", clock), lease(db, "worker@b:2:0.b", clock)
    await first.acquire()
    await first.release()
    assert not first.held()
    assert await second.claim() is not None


async def test_a_dead_holder_of_this_host_is_replaced_at_once(db: Database) -> None:
    clock = Clock()
    dead = lease(db, here(a_dead_pid()), clock)
    await dead.acquire()
    assert await lease(db, process_name("run"), clock).claim() is not None


async def test_keep_gives_up_when_renewals_fail_until_the_lease_would_expire(
    db: Database,
) -> None:
    clock = Clock()
    holder = lease(db, "run@a:1:0.a", clock)
    await holder.acquire()
    await db.close()  # every renewal fails from now on
    with pytest.raises(LeaseLost, match="in time"):
        await holder.keep()
    assert not holder.held()
    assert clock.now >= Clock().now + 15.0 * TRUSTED_SHARE


async def test_a_standby_waits_out_a_database_that_does_not_answer(db: Database) -> None:
    clock = Clock()
    standby = lease(db, "worker@b:2:0.b", clock)
    real = standby.claim
    failures = iter([ConnectionError("down"), ConnectionError("down")])

    async def flaky() -> Lease | None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return await real()

    standby.claim = flaky  # type: ignore[method-assign]
    taken = await standby.acquire()
    assert taken.holder == "worker@b:2:0.b"


async def test_the_holder_trusts_its_renewal_for_less_than_a_lease(db: Database) -> None:
    clock = Clock()
    holder = lease(db, "run@a:1:0.a", clock)
    await holder.acquire()
    clock.advance(15.0 * TRUSTED_SHARE - 0.1)
    assert holder.held()
    clock.advance(0.1)
    assert not holder.held()  # a third of a lease before any standby may take it


async def test_a_renewal_that_came_back_after_the_trust_ran_out_stops_the_holder(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    holder = lease(db, "run@a:1:0.a", clock)
    await holder.acquire()
    slow = holder._repo.claim

    async def stalled(*args: object, **kwargs: object) -> Lease | None:
        clock.advance(11.0)  # the process stalled mid-renewal: fenced meanwhile
        return await slow(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(holder._repo, "claim", stalled)
    with pytest.raises(LeaseLost, match="lapsed"):
        await holder.keep()
    assert not holder.held()


async def test_a_standby_counts_the_silence_from_when_it_read_the_lease(db: Database) -> None:
    clock = Clock()
    holder = lease(db, "run@a:1:0.a", clock)
    standby = lease(db, "worker@b:2:0.b", clock)
    await holder.acquire()
    get = standby._repo.get

    async def slow_read(*args: object, **kwargs: object) -> Lease | None:
        read = await get(*args, **kwargs)  # type: ignore[arg-type]
        clock.advance(3.0)  # waited this long between asking and reading
        return read

    standby._repo.get = slow_read  # type: ignore[method-assign]
    assert await standby.claim() is None  # asked at 0, read at 3: watching from 3
    clock.advance(12.0 - 3.0)  # 15 s after asking, 12 after reading (and one more read)
    assert await standby.claim() is None
