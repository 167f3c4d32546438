import asyncio

from prometheus_client.parser import text_string_to_metric_families

from bot.jobs import JobEvent, JobEvents, JobState
from bot.observability.feed import JobMetricsFeed
from bot.observability.metrics import Metrics
from bot.speed import SpeedMode
from tests.ui.jobs import make_job


def _values(metrics: Metrics, name: str, label: str) -> dict[str, float]:
    text = metrics.exposition().decode()
    return {
        sample.labels[label]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def _event(kind: str, job_id: int, state: JobState, speed: SpeedMode) -> JobEvent:
    return JobEvent.model_validate(
        {"kind": kind, "job": make_job(id=job_id, state=state, speed=speed)}
    )


QUEUED, RUNNING = JobState.QUEUED, JobState.RUNNING
FAST, RELAX, TURBO = SpeedMode.FAST, SpeedMode.RELAX, SpeedMode.TURBO

# (event, expected unfinished jobs per state, expected queue depth per speed)
STEPS = [
    (("queued", 1, QUEUED, FAST), {"queued": 1}, {"fast": 1}),
    (("queued", 2, QUEUED, RELAX), {"queued": 2}, {"fast": 1, "relax": 1}),
    (("queued", 3, QUEUED, TURBO), {"queued": 3}, {"fast": 1, "relax": 1, "turbo": 1}),
    (("started", 1, RUNNING, FAST), {"queued": 2, "running": 1}, {"relax": 1, "turbo": 1}),
    (("progress", 1, RUNNING, FAST), {"queued": 2, "running": 1}, {"relax": 1, "turbo": 1}),
    (("succeeded", 1, JobState.SUCCEEDED, FAST), {"queued": 2}, {"relax": 1, "turbo": 1}),
    (("cancelled", 2, JobState.CANCELLED, RELAX), {"queued": 1}, {"turbo": 1}),
    (("started", 3, JobState.SUBMITTING, TURBO), {"submitting": 1}, {}),
    (("failed", 9, JobState.FAILED, FAST), {"submitting": 1}, {}),
]


def test_gauges_follow_each_transition() -> None:
    metrics = Metrics()
    feed = JobMetricsFeed(metrics)
    for args, states, depth in STEPS:
        feed.observe(_event(*args))
        expected_states = {"queued": 0.0, "submitting": 0.0, "running": 0.0} | states
        assert _values(metrics, "tessera_jobs", "state") == expected_states, args
        expected_depth = {"fast": 0.0, "relax": 0.0, "turbo": 0.0} | depth
        assert _values(metrics, "tessera_queue_depth", "speed") == expected_depth, args
    assert _values(metrics, "tessera_jobs_finished_total", "state") == {
        "succeeded": 1,
        "cancelled": 1,
        "failed": 1,
    }


async def test_follow_reads_the_event_stream_until_it_closes() -> None:
    metrics, hub = Metrics(), JobEvents()
    feed = JobMetricsFeed(metrics)
    subscription = hub.subscribe()
    following = asyncio.create_task(feed.follow(subscription))
    for args, _, _ in STEPS[:4]:
        hub.publish(_event(*args))
    subscription.close()
    await following
    assert _values(metrics, "tessera_jobs", "state")["queued"] == 2
    assert _values(metrics, "tessera_jobs", "state")["running"] == 1
