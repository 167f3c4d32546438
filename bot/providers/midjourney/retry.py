"""Exponential back-off with full jitter, for the calls that are safe to repeat."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.errors import ProviderUnavailable

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How many times, and how far apart, an idempotent call is tried."""

    attempts: int = 3
    """Total tries, the first included."""
    base_delay: float = 0.25
    max_delay: float = 5.0

    def delay(self, retry_number: int, rng: random.Random) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry_number - 1))
        # Full jitter: many clients retrying after one outage do not arrive in lockstep.
        return rng.uniform(0, ceiling)


async def retry_unavailable(
    operation: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]],
    rng: random.Random,
) -> T:
    """Run an idempotent ``operation``, retrying it while it raises ``ProviderUnavailable``."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await operation()
        except ProviderUnavailable:
            if attempt >= policy.attempts:
                raise
        await sleep(policy.delay(attempt, rng))
