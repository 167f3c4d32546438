import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from bot.jobs.lease import DispatchLease, LeaseLost, gone_from_this_host, process_name
from bot.store.database import Database
from tests.jobs.conftest import Clock, FakeSleep


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await Database.open(database_url)
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


def test_a_holder_names_role_host_and_pid() -> None:
    assert process_name("worker") == f"worker@{socket.gethostname()}:{os.getpid()}"


def test_only_a_vanished_process_of_this_host_counts_as_gone() -> None:
    host = socket.gethostname()
    assert gone_from_this_host(f"worker@{host}:{a_dead_pid()}")
    assert not gone_from_this_host(f"worker@{host}:{os.getpid()}")  # this very process
    assert not gone_from_this_host(f"worker@{host}:1")  # alive
    assert not gone_from_this_host(f"worker@elsewhere.example:{a_dead_pid()}")
    assert not gone_from_this_host("garbage")


async def test_one_holder_at_a_time_and_a_standby_takes_over_after_expiry(db: Database) -> None:
    clock = Clock()
    first, second = lease(db, "run@a:1", clock), lease(db, "worker@b:2", clock)
    await first.acquire()
    assert first.held()
    assert await second.claim() is None
    clock.advance(14.0)
    assert await first.claim() is not None  # renewed in time
    clock.advance(14.0)
    assert await second.claim() is None
    clock.advance(15.0)  # the first stopped renewing: expired by now
    assert not first.held()
    taken = await second.acquire()
    assert taken.holder == "worker@b:2"
    with pytest.raises(LeaseLost, match="another process"):
        await first.keep()
    assert not first.held()


async def test_a_standby_waits_claiming_every_third_of_the_lease(db: Database) -> None:
    clock = Clock()
    holder = lease(db, "run@a:1", clock)
    await holder.acquire()
    sleep = FakeSleep(clock)
    standby = DispatchLease(
        db, "worker@b:2", duration=15.0, clock=clock, monotonic=clock, sleep=sleep
    )
    taken = await standby.acquire()
    assert taken.holder == "worker@b:2"
    assert sleep.delays == [5.0, 5.0, 5.0]  # claims at 0, 5, 10 refused; at 15 expired


async def test_a_release_hands_the_lease_over_at_once(db: Database) -> None:
    clock = Clock()
    first, second = lease(db, "run@a:1", clock), lease(db, "worker@b:2", clock)
    await first.acquire()
    await first.release()
    assert not first.held()
    assert await second.claim() is not None


async def test_a_dead_holder_of_this_host_is_replaced_before_expiry(db: Database) -> None:
    clock = Clock()
    dead = lease(db, f"run@{socket.gethostname()}:{a_dead_pid()}", clock)
    await dead.acquire()
    assert await lease(db, process_name("run"), clock).claim() is not None


async def test_keep_gives_up_when_renewals_fail_until_the_lease_would_expire(
    db: Database,
) -> None:
    clock = Clock()
    holder = lease(db, "run@a:1", clock)
    await holder.acquire()
    await db.close()  # every renewal fails from now on
    with pytest.raises(LeaseLost, match="in time"):
        await holder.keep()
    assert not holder.held()
    assert clock.now >= Clock().now + 15.0
