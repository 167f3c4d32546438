import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.observability.health import HealthStatus
from bot.observability.metrics import Metrics
from bot.observability.server import ObservabilityServer


class SwitchableHealth:
    """A health check whose answer the test sets."""

    def __init__(self) -> None:
        self.status = HealthStatus()
        self.raises: Exception | None = None

    async def __call__(self) -> HealthStatus:
        if self.raises is not None:
            raise self.raises
        return self.status


class CountingRefresh:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.calls = 0
        self.fail = False

    async def __call__(self) -> None:
        self.calls += 1
        if self.fail:
            raise RuntimeError("database locked")
        self.metrics.set_queue_depth({"fast": self.calls})


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def health() -> SwitchableHealth:
    return SwitchableHealth()


@pytest.fixture
def refresh(metrics: Metrics) -> CountingRefresh:
    return CountingRefresh(metrics)


@pytest.fixture
async def client(
    metrics: Metrics, health: SwitchableHealth, refresh: CountingRefresh
) -> AsyncIterator[httpx.AsyncClient]:
    server = ObservabilityServer(
        host="127.0.0.1", port=0, metrics=metrics, health_check=health, refresh=refresh
    )
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            yield http
    finally:
        await server.close()


def _fast_depth(body: str) -> float:
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == "tessera_queue_depth" and sample.labels["speed"] == "fast":
                return sample.value
    raise AssertionError("no fast queue depth in the exposition")


async def test_metrics_are_refreshed_at_each_scrape(
    client: httpx.AsyncClient, refresh: CountingRefresh
) -> None:
    first = await client.get("/metrics")
    second = await client.get("/metrics")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain; version=")
    assert _fast_depth(first.text) == 1
    assert _fast_depth(second.text) == 2
    assert refresh.calls == 2


async def test_a_failed_refresh_still_serves_the_last_values(
    client: httpx.AsyncClient, refresh: CountingRefresh
) -> None:
    await client.get("/metrics")
    refresh.fail = True
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert _fast_depth(response.text) == 1


@pytest.mark.parametrize(
    ("status", "raises", "code", "body"),
    [
        (HealthStatus(), None, 200, {"status": "ok"}),
        (
            HealthStatus(("discord: not connected to the gateway",)),
            None,
            503,
            {"status": "unavailable", "reasons": ["discord: not connected to the gateway"]},
        ),
        (
            HealthStatus(),
            ValueError("boom"),
            503,
            {"status": "unavailable", "reasons": ["health check failed: ValueError"]},
        ),
    ],
)
async def test_healthz(
    client: httpx.AsyncClient,
    health: SwitchableHealth,
    status: HealthStatus,
    raises: Exception | None,
    code: int,
    body: dict[str, object],
) -> None:
    health.status, health.raises = status, raises
    response = await client.get("/healthz")
    assert response.status_code == code
    assert response.json() == body


async def test_unknown_paths_are_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/")).status_code == 404


async def test_port_in_use_fails_to_start_and_port_requires_start(metrics: Metrics) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ObservabilityServer(
            host="127.0.0.1", port=port, metrics=metrics, health_check=SwitchableHealth()
        )
        with pytest.raises(OSError, match="address already in use"):
            await server.start()
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.port
    await server.close()
