"""Resilience: retries, timeouts, resets, lost answers, the circuit breaker, odd answers."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from bot.errors import FailureKind, ProviderRejected, ProviderUnavailable, SubmitOutcomeUnknown
from bot.providers.base import ImagineRequest, TaskStatus
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy
from tests.providers.midjourney.conftest import ManualClock, ProviderFactory, RecordingSleep

BASE = "http://proxy.test/mj"


def imagine(job_id: int = 1) -> ImagineRequest:
    return ImagineRequest(job_id=job_id, prompt="a fox --seed 9", speed="fast")


def mock(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


def answer(code: int, result: str | None = "T1", **props: object) -> httpx.Response:
    body = {"code": code, "description": "", "result": result, "properties": props}
    return httpx.Response(200, json=body)


async def test_status_poll_is_retried_over_server_errors(
    fake: FakeMidjourneyProxy, make_provider: ProviderFactory, sleep: RecordingSleep
) -> None:
    provider = make_provider(fake.base_url)
    task_id = (await provider.submit_imagine(imagine())).task_id
    fake.fail_next(2, status=502, path="list-by")
    assert task_id in await provider.fetch_many([task_id])
    assert len(sleep.delays) == 2
    assert all(0 <= d <= 1.0 for d in sleep.delays)


async def test_status_poll_gives_up_as_unavailable_never_as_forgotten(
    fake: FakeMidjourneyProxy, make_provider: ProviderFactory
) -> None:
    provider = make_provider(fake.base_url)
    task_id = (await provider.submit_imagine(imagine())).task_id
    fake.fail_next(3, path="list-by")
    with pytest.raises(ProviderUnavailable):
        await provider.fetch_many([task_id])


@pytest.mark.parametrize("fault", ["reset_next", "garble_next"])
async def test_status_poll_survives_a_reset_or_garbled_answer(
    fake: FakeMidjourneyProxy, make_provider: ProviderFactory, fault: str
) -> None:
    provider = make_provider(fake.base_url)
    task_id = (await provider.submit_imagine(imagine())).task_id
    getattr(fake, fault)(1, path="list-by")
    assert (await provider.fetch_many([task_id]))[task_id].status is TaskStatus.SUBMITTED


async def test_a_server_error_on_submit_is_an_unknown_outcome_never_sent_again(
    fake: FakeMidjourneyProxy, make_provider: ProviderFactory
) -> None:
    # A 5xx may come from a gateway whose upstream went on to accept the request.
    provider = make_provider(fake.base_url)
    fake.fail_next(1, status=503, path="submit/imagine")
    with pytest.raises(SubmitOutcomeUnknown):
        await provider.submit_imagine(imagine(5))
    assert fake.count("submit/imagine") == 1


async def test_submit_whose_answer_was_lost_is_found_by_state_not_duplicated(
    fake: FakeMidjourneyProxy, make_provider: ProviderFactory
) -> None:
    provider = make_provider(fake.base_url)
    fake.drop_answer_next(1, path="submit/imagine")
    with pytest.raises(SubmitOutcomeUnknown):
        await provider.submit_imagine(imagine(6))
    found = await provider.find_by_state("6")
    assert found is not None
    assert list(fake.tasks) == [found.task_id]
    assert len(fake.submissions) == 1


async def test_a_hung_submit_served_after_the_client_gave_up_is_not_sent_again(
    fake: FakeMidjourneyProxy, make_provider: ProviderFactory
) -> None:
    # Issue #11, finding 3: a look-up right after the timeout said "none", the client sent
    # the submit again, and the proxy then served both.
    provider = make_provider(fake.base_url, request_timeout=0.2)
    fake.serve_late_next(1, path="submit/imagine")
    with pytest.raises(SubmitOutcomeUnknown):
        await provider.submit_imagine(imagine(7))
    assert await provider.find_by_state("7") is None  # not yet: the task appears late
    await fake.serve_late()
    found = await provider.find_by_state("7")
    assert found is not None
    assert list(fake.tasks) == [found.task_id]
    assert fake.count("submit/imagine") == 1


async def test_submit_with_unknown_outcome_and_no_way_to_ask_is_not_repeated(
    make_provider: ProviderFactory,
) -> None:
    submits = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal submits
        if request.url.path.endswith("/submit/imagine"):
            submits += 1
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(404)

    provider = make_provider(BASE, transport=mock(handler))
    with pytest.raises(ProviderUnavailable):
        await provider.submit_imagine(imagine())
    assert submits == 1


async def test_submit_that_never_connected_is_retried(
    make_provider: ProviderFactory, sleep: RecordingSleep
) -> None:
    attempts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise httpx.ConnectError("refused", request=request)
        return answer(1)

    provider = make_provider(BASE, transport=mock(handler))
    assert (await provider.submit_imagine(imagine())).task_id == "T1"
    assert attempts == 3
    assert len(sleep.delays) == 2


async def test_refused_connection_to_a_real_closed_port_is_unavailable(
    make_provider: ProviderFactory,
) -> None:
    async with FakeMidjourneyProxy() as fake:
        closed = fake.base_url
    provider = make_provider(closed)
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.fetch_many(["1"])
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert "unavailable" in caught.value.message


async def test_slow_answers_time_out_as_unavailable(make_provider: ProviderFactory) -> None:
    async with FakeMidjourneyProxy() as fake:
        provider = make_provider(fake.base_url, request_timeout=0.05)
        async with fake.holding():
            with pytest.raises(ProviderUnavailable):
                await provider.fetch_many(["1"])


async def test_circuit_opens_fails_fast_and_closes_after_a_successful_trial(
    fake: FakeMidjourneyProxy, make_provider: ProviderFactory, clock: ManualClock
) -> None:
    provider = make_provider(fake.base_url, circuit_failure_threshold=2, circuit_reset_seconds=30)
    fake.fail_next(10, path="list-by")
    with pytest.raises(ProviderUnavailable):
        await provider.fetch_many(["1"])
    assert provider.circuit_open
    sent = len(fake.requests)

    with pytest.raises(ProviderUnavailable) as caught:
        await provider.submit_imagine(imagine())
    assert caught.value.message == "The image provider is unavailable; your job stays queued."
    assert len(fake.requests) == sent  # failed fast, nothing sent

    clock.now += 31
    assert not provider.circuit_open  # the dispatcher may try again: that call is the trial
    fake.clear_faults()  # the provider is healthy again
    await provider.fetch_many(["1"])
    assert not provider.circuit_open


async def test_system_failure_code_is_retried_a_bounded_number_of_times(
    make_provider: ProviderFactory,
) -> None:
    codes = iter([9, 9, 1])
    provider = make_provider(BASE, transport=mock(lambda _: answer(next(codes))))
    assert (await provider.submit_imagine(imagine())).task_id == "T1"

    provider = make_provider(BASE, transport=mock(lambda _: answer(9)))
    with pytest.raises(ProviderUnavailable):
        await provider.submit_imagine(imagine())


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (httpx.Response(400, text="bad request"), FailureKind.INVALID_REQUEST),
        (answer(4, None), FailureKind.INVALID_REQUEST),
        (answer(3, None), FailureKind.PARENT_EXPIRED),
    ],
)
async def test_refusals_are_typed(
    make_provider: ProviderFactory, response: httpx.Response, kind: FailureKind
) -> None:
    provider = make_provider(BASE, transport=mock(lambda _: response))
    with pytest.raises(ProviderRejected) as caught:
        await provider.submit_imagine(imagine())
    assert caught.value.kind is kind


async def test_submit_answer_without_a_task_id_is_an_error(make_provider: ProviderFactory) -> None:
    provider = make_provider(BASE, transport=mock(lambda _: answer(1, None)))
    with pytest.raises(Exception, match="cannot read") as caught:
        await provider.submit_imagine(imagine())
    assert not isinstance(caught.value, httpx.HTTPError)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ([{"id": "A", "status": "IN_PROGRESS", "progress": "12%"}], {"A": 12}),
        ([{"status": "SUCCESS"}, {"id": "B", "status": "SUCCESS"}], {"B": 100}),
        ({"code": 1, "result": [{"id": "C", "status": "NOT_START"}]}, {"C": 0}),
        ([{"id": "D", "status": "WEIRD", "progress": None}], {"D": 0}),
        ([], {}),
    ],
    ids=["percent", "missing-id", "enveloped", "unknown-status", "empty"],
)
async def test_odd_status_answers(
    make_provider: ProviderFactory, payload: object, expected: dict[str, int]
) -> None:
    body = json.dumps(payload).encode()
    provider = make_provider(BASE, transport=mock(lambda _: httpx.Response(200, content=body)))
    states = await provider.fetch_many(["A", "B", "C", "D"])
    assert {k: v.progress for k, v in states.items()} == expected


@pytest.mark.parametrize(
    "response",
    [httpx.Response(200, json="nope"), httpx.Response(200), httpx.Response(400, text="no")],
    ids=["string", "empty-body", "client-error"],
)
async def test_unusable_status_answer_is_unavailable_not_forgotten(
    make_provider: ProviderFactory, response: httpx.Response
) -> None:
    provider = make_provider(BASE, transport=mock(lambda _: response))
    with pytest.raises(ProviderUnavailable):
        await provider.fetch_many(["A"])


async def test_find_by_state_that_cannot_list_says_so_rather_than_none(
    make_provider: ProviderFactory,
) -> None:
    list_works = False

    def handler(request: httpx.Request) -> httpx.Response:
        if not list_works:
            return httpx.Response(503)
        return httpx.Response(200, json=[{"id": "T1", "status": "SUBMITTED", "state": "4"}])

    provider = make_provider(BASE, transport=mock(handler))
    with pytest.raises(ProviderUnavailable):
        await provider.find_by_state("4")
    list_works = True
    found = await provider.find_by_state("4")
    assert found is not None
    assert found.task_id == "T1"
