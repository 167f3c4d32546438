"""Operations: structured logs with the job id, Prometheus metrics and the health endpoint."""

from bot.observability.health import HealthCheck, HealthStatus, database_and_gateway_check
from bot.observability.logging import (
    configure_logging,
    current_job_id,
    job_context,
    settings_secrets,
)
from bot.observability.metrics import Metrics
from bot.observability.server import ObservabilityServer

__all__ = [
    "HealthCheck",
    "HealthStatus",
    "Metrics",
    "ObservabilityServer",
    "configure_logging",
    "current_job_id",
    "database_and_gateway_check",
    "job_context",
    "settings_secrets",
]
