"""Every provider call is reported to the observer (metrics), with task ids folded away."""

from __future__ import annotations

import pytest

from bot.errors import ProviderUnavailable
from bot.providers.base import ImagineRequest
from bot.providers.midjourney import MidjourneyProxyProvider
from bot.providers.midjourney.retry import RetryPolicy
from bot.providers.midjourney.transport import operation_name
from bot.settings import ProviderSettings
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy
from tests.providers.midjourney.conftest import RecordingSleep

Call = tuple[str, str | None]


@pytest.mark.parametrize(
    ("path", "operation"),
    [
        ("submit/imagine", "submit/imagine"),
        ("/task/list-by-condition", "task/list-by-condition"),
        ("task/1700000000123/fetch", "task/{id}/fetch"),
        ("task/abc-def/cancel", "task/{id}/cancel"),
        ("task/list", "task/list"),
    ],
)
def test_operation_names_do_not_carry_task_ids(path: str, operation: str) -> None:
    assert operation_name(path) == operation


async def test_calls_successes_and_failures_reach_the_observer(
    fake: FakeMidjourneyProxy, sleep: RecordingSleep
) -> None:
    calls: list[Call] = []

    def observe(operation: str, seconds: float, error_kind: str | None) -> None:
        assert seconds >= 0
        calls.append((operation, error_kind))

    provider = MidjourneyProxyProvider(
        ProviderSettings(base_url=fake.base_url),
        sleep=sleep,
        retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.01),
        observe=observe,
    )
    try:
        submitted = await provider.submit_imagine(ImagineRequest(job_id=1, prompt="a fox --seed 9"))
        await provider.fetch_many([submitted.task_id])
        fake.fail_next(2, status=503, path="list-by")
        with pytest.raises(ProviderUnavailable):
            await provider.fetch_many([submitted.task_id])
    finally:
        await provider.aclose()
    assert calls[0] == ("submit/imagine", None)
    assert calls[1][0].startswith("task/list-by")
    assert calls[1][1] is None
    assert calls[-2:] == [(calls[1][0], "unavailable")] * 2
