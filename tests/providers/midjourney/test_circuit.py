"""The circuit breaker with an injected clock."""

from __future__ import annotations

import pytest

from bot.errors import ProviderUnavailable
from bot.providers.midjourney.circuit import CircuitBreaker
from tests.providers.midjourney.conftest import ManualClock


@pytest.fixture
def breaker(clock: ManualClock) -> CircuitBreaker:
    return CircuitBreaker(threshold=3, reset_seconds=10, clock=clock)


def test_opens_after_threshold_consecutive_failures(breaker: CircuitBreaker) -> None:
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure()
    breaker.record_success()  # a success in between resets the count
    for _ in range(2):
        breaker.record_failure()
    assert not breaker.is_open
    breaker.record_failure()
    assert breaker.is_open
    with pytest.raises(ProviderUnavailable):
        breaker.before_call()


def test_half_open_allows_one_trial(breaker: CircuitBreaker, clock: ManualClock) -> None:
    for _ in range(3):
        breaker.record_failure()
    clock.now += 10
    assert not breaker.is_open  # a trial is due: callers may try again
    breaker.before_call()  # the trial
    assert breaker.is_open
    with pytest.raises(ProviderUnavailable):
        breaker.before_call()  # a second caller while the trial runs
    breaker.record_failure()
    assert breaker.is_open
    with pytest.raises(ProviderUnavailable):
        breaker.before_call()  # reopened for another reset period
    clock.now += 10
    breaker.before_call()
    breaker.record_success()
    assert not breaker.is_open
    breaker.before_call()
