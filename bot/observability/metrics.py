"""Prometheus metrics, kept in a registry the runtime owns (never the process-global one).

The runtime builds one ``Metrics``. The provider client reports every call through its
``observe`` hook (latency and errors), the status board counts Discord edits, and gauges that
mirror state the process already holds (queue depth per speed class, jobs by state, guild
count) are read from the dispatcher and the bot at scrape time by the server's ``refresh``
hook, so nobody has to remember to push them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.model import SpeedMode

EXPOSITION_CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
# Provider calls range from a ~50 ms status poll to multi-second image downloads.
_LATENCY_BUCKETS: Final = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The bot's metric objects and the small recording functions the services call."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.queue_depth = Gauge(
            "tessera_queue_depth",
            "Jobs waiting for a provider slot, per speed class (on PostgreSQL the shared"
            " queue's, the same in every process: take one process's, not the sum).",
            ["speed"],
            registry=self.registry,
        )
        self.guilds = Gauge(
            "tessera_guilds", "Guilds the bot is a member of.", registry=self.registry
        )
        self.jobs = Gauge(
            "tessera_jobs",
            "Unfinished jobs, per state: queued as tessera_queue_depth counts them, running"
            " in this process's provider slots.",
            ["state"],
            registry=self.registry,
        )
        self.jobs_finished = Counter(
            "tessera_jobs_finished",
            "Jobs that reached a final state since start-up, per state.",
            ["state"],
            registry=self.registry,
        )
        self.provider_latency = Histogram(
            "tessera_provider_request_seconds",
            "Duration of calls to the image provider, per operation.",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.provider_errors = Counter(
            "tessera_provider_errors",
            "Failed calls to the image provider, per operation and failure kind.",
            ["operation", "kind"],
            registry=self.registry,
        )
        self.discord_edits = Counter(
            "tessera_discord_message_edits",
            "Status message edits sent to Discord, per outcome (ok, rate_limited, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.dispatching = Gauge(
            "tessera_dispatching",
            "1 while this process holds its lease (it submits and posts), 0 while it has none"
            " or serves the gateway only; per role (run, gateway, worker).",
            ["role"],
            registry=self.registry,
        )
        # Show every speed class from the first scrape, not only once a job used it.
        for speed in SpeedMode:
            self.queue_depth.labels(speed=speed.value)

    def set_queue_depth(self, depth: Mapping[str, int]) -> None:
        """Record the waiting jobs per speed class; classes not given are reset to 0."""
        for speed_name in {speed.value for speed in SpeedMode} | set(depth):
            self.queue_depth.labels(speed=speed_name).set(depth.get(speed_name, 0))

    def set_dispatching(self, role: str, holding: bool) -> None:
        """Record whether this process, of ``role``, dispatches now."""
        self.dispatching.clear()
        self.dispatching.labels(role=role).set(1 if holding else 0)

    def set_guild_count(self, count: int) -> None:
        """Record how many guilds the bot is in."""
        self.guilds.set(count)

    def set_jobs_by_state(self, counts: Mapping[str, int]) -> None:
        """Record the job count per state (a full snapshot: states not given are zeroed)."""
        self.jobs.clear()
        for state, count in counts.items():
            self.jobs.labels(state=state).set(count)

    def count_job_finished(self, state: str) -> None:
        """Record one job reaching a final state (succeeded, failed, cancelled)."""
        self.jobs_finished.labels(state=state).inc()

    def observe_provider_call(
        self, operation: str, seconds: float, error_kind: str | None = None
    ) -> None:
        """Record one provider call's duration, and its failure kind if it failed.

        The provider client calls this for every HTTP attempt (``observe=`` in its constructor).
        """
        self.provider_latency.labels(operation=operation).observe(seconds)
        if error_kind is not None:
            self.provider_errors.labels(operation=operation, kind=error_kind).inc()

    def count_discord_edit(self, outcome: str = "ok") -> None:
        """Record one status-message edit (``ok``, ``rate_limited`` or ``failed``)."""
        self.discord_edits.labels(outcome=outcome).inc()

    def exposition(self) -> bytes:
        """The registry in Prometheus' text exposition format."""
        return generate_latest(self.registry)
