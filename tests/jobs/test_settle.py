import pytest

from bot.errors import FailureKind
from bot.jobs import DeliveryFailed, JobState
from tests.jobs.conftest import System, states


async def test_delivery_is_retried_then_succeeds_once(system: System) -> None:
    system.deliverer.failures.extend([DeliveryFailed("503", retryable=True)] * 2)
    (job,) = await system.imagine("a fox")
    await system.dispatcher.drain()
    assert await states(system, job.id) == [JobState.SUCCEEDED]
    assert system.deliverer.attempts == 3
    assert system.sleep.delays == [2.0, 4.0]
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
