from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bot.observability.metrics import Metrics


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_every_speed_class_is_exposed_before_any_job() -> None:
    samples = _samples(Metrics())
    for speed in ("turbo", "fast", "relax"):
        assert samples[("tessera_queue_depth", (("speed", speed),))] == 0


def test_queue_depth_is_a_snapshot() -> None:
    metrics = Metrics()
    metrics.set_queue_depth({"fast": 4, "relax": 2})
    metrics.set_queue_depth({"relax": 1})
    samples = _samples(metrics)
    assert samples[("tessera_queue_depth", (("speed", "fast"),))] == 0
    assert samples[("tessera_queue_depth", (("speed", "relax"),))] == 1


def test_jobs_by_state_drops_states_no_longer_reported() -> None:
    metrics = Metrics()
    metrics.set_jobs_by_state({"queued": 3, "running": 2})
    metrics.set_jobs_by_state({"running": 1, "succeeded": 9})
    samples = _samples(metrics)
    assert ("tessera_jobs", (("state", "queued"),)) not in samples
    assert samples[("tessera_jobs", (("state", "running"),))] == 1
    assert samples[("tessera_jobs", (("state", "succeeded"),))] == 9


def test_guild_count_and_discord_edits() -> None:
    metrics = Metrics()
    metrics.set_guild_count(12)
    metrics.count_discord_edit()
    metrics.count_discord_edit()
    metrics.count_discord_edit("rate_limited")
    samples = _samples(metrics)
    assert samples[("tessera_guilds", ())] == 12
    assert samples[("tessera_discord_message_edits_total", (("outcome", "ok"),))] == 2
    assert samples[("tessera_discord_message_edits_total", (("outcome", "rate_limited"),))] == 1


def test_provider_calls_are_timed_and_errors_counted_by_kind() -> None:
    metrics = Metrics()
    metrics.observe_provider_call("task/list-by-condition", 0.05)
    metrics.observe_provider_call("submit/imagine", 0.2, "unavailable")
    metrics.observe_provider_call("submit/imagine", 0.1)
    metrics.observe_provider_call("download", 1.5, "delivery")
    samples = _samples(metrics)
    count = "tessera_provider_request_seconds_count"
    assert samples[(count, (("operation", "task/list-by-condition"),))] == 1
    assert samples[(count, (("operation", "submit/imagine"),))] == 2
    errors = "tessera_provider_errors_total"
    assert samples[(errors, (("kind", "unavailable"), ("operation", "submit/imagine")))] == 1
    assert samples[(errors, (("kind", "delivery"), ("operation", "download")))] == 1
    assert (errors, (("kind", "unavailable"), ("operation", "download"))) not in samples


def test_two_runtimes_do_not_share_metrics_or_touch_the_global_registry() -> None:
    first, second = Metrics(), Metrics()
    first.set_guild_count(3)
    assert _samples(second)[("tessera_guilds", ())] == 0
    assert REGISTRY.get_sample_value("tessera_guilds") is None


def test_whether_this_process_dispatches_is_one_gauge_per_role() -> None:
    metrics = Metrics()
    metrics.set_dispatching("worker", holding=False)
    metrics.set_dispatching("worker", holding=True)
    text = metrics.exposition().decode()
    assert 'tessera_dispatching{role="worker"} 1.0' in text
    metrics.set_dispatching("gateway", holding=False)
    text = metrics.exposition().decode()
    assert 'tessera_dispatching{role="gateway"} 0.0' in text
    assert 'role="worker"' not in text
