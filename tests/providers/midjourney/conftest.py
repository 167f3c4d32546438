"""Fixtures: the loopback fake server and a provider wired to it with injected time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.outbound import OutboundPolicy
from bot.providers.midjourney import MidjourneyProxyProvider
from bot.providers.midjourney.retry import RetryPolicy
from bot.settings import ProviderSettings
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy


class ManualClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RecordingSleep:
    """Stands in for asyncio.sleep: records the delays, returns at once."""

    def __init__(self, clock: ManualClock) -> None:
        self.delays: list[float] = []
        self._clock = clock

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self._clock.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sleep(clock: ManualClock) -> RecordingSleep:
    return RecordingSleep(clock)


@pytest.fixture
async def fake() -> AsyncIterator[FakeMidjourneyProxy]:
    async with FakeMidjourneyProxy() as server:
        yield server


ProviderFactory = Callable[..., MidjourneyProxyProvider]


@pytest.fixture
async def make_provider(
    clock: ManualClock, sleep: RecordingSleep
) -> AsyncIterator[ProviderFactory]:
    made: list[MidjourneyProxyProvider] = []

    def factory(base_url: str, **overrides: Any) -> MidjourneyProxyProvider:
        transport = overrides.pop("transport", None)
        # The fake serves result images on loopback: allowed by name, as an operator would.
        outbound = overrides.pop("outbound", OutboundPolicy(["127.0.0.1"]))
        fetcher = overrides.pop("fetcher", None)
        settings = ProviderSettings(base_url=base_url, **overrides)
        provider = MidjourneyProxyProvider(
            settings,
            transport=transport,
            clock=clock,
            sleep=sleep,
            retry=RetryPolicy(attempts=3, base_delay=0.1, max_delay=1.0),
            outbound=outbound,
            fetcher=fetcher,
        )
        made.append(provider)
        return provider

    yield factory
    for provider in made:
        await provider.aclose()


@pytest.fixture
def provider(fake: FakeMidjourneyProxy, make_provider: ProviderFactory) -> MidjourneyProxyProvider:
    return make_provider(fake.base_url)
