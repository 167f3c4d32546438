import sqlite3
from collections.abc import Sequence

import pytest

from bot.errors import FailureKind
from bot.jobs import DeliveryFailed
from bot.model import JobState
from bot.quota import LedgerKind
from bot.store.database import Transaction
from tests.jobs.conftest import GUILD, USER, System, states


async def test_delivery_is_retried_then_succeeds_once(system: System) -> None:
    system.deliverer.failures.extend([DeliveryFailed("503", retryable=True)] * 2)
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    assert await states(system, job.id) == [JobState.SUCCEEDED]
    assert system.deliverer.attempts == 3
    assert system.sleep.delays == [2.0, 4.0]
    assert system.deliverer.retracted == []
    assert (await system.balance()).member_used == 1000


@pytest.mark.parametrize(
    "failures",
    [
        [DeliveryFailed("forbidden", retryable=False)],
        [DeliveryFailed("503", retryable=True)] * 3,
    ],
)
async def test_a_delivery_that_keeps_failing_fails_the_job_and_refunds(
    system: System, failures: list[DeliveryFailed]
) -> None:
    system.deliverer.failures.extend(failures)
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    failed = await system.job(job.id)
    assert (failed.state, failed.failure_kind) == (JobState.FAILED, FailureKind.DELIVERY)
    assert failures[-1].message in (failed.failure_message or "")
    balance = await system.balance()
    assert (balance.member_used, balance.member_reserved) == (0, 0)


async def test_deliveries_finishing_together_each_keep_their_own_result(system: System) -> None:
    jobs = [(await system.imagine(f"fox {n}", user=USER + n))[0] for n in range(4)]
    await system.dispatcher.drain()
    for job in jobs:
        done = await system.job(job.id)
        assert done.state is JobState.SUCCEEDED
        assert done.result_message_id == 9000 + job.id
        assert done.provider_task_id is not None
        assert all(done.provider_task_id in url for url in done.result_urls)
        assert done.result_urls
        assert system.kinds(job.id)[-1] == "succeeded"
    commits = [
        entry.job_id
        for entry in await system.quota.ledger(guild_id=GUILD, limit=100)
        if entry.kind is LedgerKind.COMMIT
    ]
    assert sorted(commits) == sorted(job.id for job in jobs)
    for n in range(4):
        balance = await system.balance(user=USER + n)
        assert (balance.member_used, balance.member_reserved) == (1000, 0)


@pytest.mark.parametrize(
    ("store_failures", "state", "used", "reserved"),
    [
        (1, JobState.SUCCEEDED, 1000, 0),  # the commit is tried once more and holds
        (2, JobState.RUNNING, 0, 1000),  # left for recovery: never failed, never refunded
    ],
)
async def test_a_posted_image_whose_charge_cannot_be_recorded_is_never_refunded(
    system: System,
    monkeypatch: pytest.MonkeyPatch,
    store_failures: int,
    state: JobState,
    used: int,
    reserved: int,
) -> None:
    commit_many = system.quota.commit_many
    left = [store_failures]

    async def locked_then_fine(tx: Transaction, job_ids: Sequence[int]) -> None:
        if left[0]:
            left[0] -= 1
            raise sqlite3.OperationalError("database is locked")
        await commit_many(tx, job_ids)

    monkeypatch.setattr(system.quota, "commit_many", locked_then_fine)
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    assert await states(system, job.id) == [state]
    assert len(system.deliverer.delivered) == 1
    balance = await system.balance()
    assert (balance.member_used, balance.member_reserved) == (used, reserved)
    if state is JobState.RUNNING:
        restarted = await system.restart()
        await restarted.dispatcher.drain()
        assert await states(restarted, job.id) == [JobState.SUCCEEDED]
        balance = await restarted.balance()
        assert (balance.member_used, balance.member_reserved) == (1000, 0)


async def test_a_cancel_during_the_upload_takes_the_posted_image_down(system: System) -> None:
    (job,) = await system.imagine("a fox")

    async def cancel_meanwhile() -> None:
        await system.jobs.cancel(job.id, user_id=USER)

    system.deliverer.before_return = cancel_meanwhile
    await system.dispatcher.drain()
    assert await states(system, job.id) == [JobState.CANCELLED]
    assert len(system.deliverer.delivered) == 1
    assert system.deliverer.retracted == [(job.id, 9000 + job.id)]
    assert "succeeded" not in [event.kind for event in system.seen]
    balance = await system.balance()
    assert (balance.member_used, balance.member_reserved) == (0, 0)
