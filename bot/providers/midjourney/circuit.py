"""A circuit breaker: after repeated failures, fail fast instead of burning retries.

Closed: calls pass; ``threshold`` consecutive failures open it. Open: calls fail at once
with ``ProviderUnavailable`` until ``reset_seconds`` have passed on the injected clock. Then
one trial call is let through (half-open): its success closes the circuit, its failure opens
it for another ``reset_seconds``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.errors import ProviderUnavailable

log = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "The image provider is unavailable; your job stays queued."


class CircuitBreaker:
    """Counts consecutive failures of provider calls and opens after ``threshold``."""

    def __init__(
        self,
        *,
        threshold: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._reset_seconds = reset_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def is_open(self) -> bool:
        """True while calls would fail fast; False again once a trial call is due.

        A dispatcher that pauses while this is True thus resumes after ``reset_seconds`` and
        its next call is the trial, even when nothing else is calling the provider.
        """
        if self._opened_at is None:
            return False
        return self._trial_running or self._clock() - self._opened_at < self._reset_seconds

    def before_call(self) -> None:
        """Raise ``ProviderUnavailable`` when the circuit is open and no trial is due."""
        if self._opened_at is None:
            return
        if self.is_open:
            raise ProviderUnavailable(UNAVAILABLE_MESSAGE)
        self._trial_running = True

    def record_success(self) -> None:
        """A call reached the provider and got an answer."""
        if self._opened_at is not None:
            log.info("provider circuit closed: the provider answers again")
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def record_failure(self) -> None:
        """A call failed for network or server reasons."""
        self._failures += 1
        self._trial_running = False
        if self._opened_at is not None or self._failures >= self._threshold:
            if self._opened_at is None:
                log.warning("provider circuit opened after %d failures", self._failures)
            self._opened_at = self._clock()
