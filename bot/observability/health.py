"""Health: whether the database answers and the bot is connected to Discord.

A health check is any ``async () -> HealthStatus``; the server turns it into ``/healthz``
(200 or 503 with the reasons). ``database_and_gateway_check`` builds the usual one from the
runtime's database and a "connected" predicate, so this module needs neither discord nor the
runtime.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.store.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HealthStatus:
    """The outcome of one health check: healthy, or the reasons it is not."""

    reasons: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        """True when nothing is wrong."""
        return not self.reasons


HealthCheck = Callable[[], Awaitable[HealthStatus]]


def database_and_gateway_check(
    database: Database,
    is_connected: Callable[[], bool],
    *,
    timeout: float = 2.0,
) -> HealthCheck:
    """A health check: the database answers ``SELECT 1`` in time and ``is_connected()``."""

    async def check() -> HealthStatus:
        reasons = []
        try:
            async with asyncio.timeout(timeout):
                await _ping(database)
        except TimeoutError:
            reasons.append(f"database: no answer within {timeout:g} s")
        except Exception as exc:
            # The endpoint must answer 503, not crash; the cause goes to the log.
            log.warning("health check: the database failed", exc_info=True)
            reasons.append(f"database: {type(exc).__name__}")
        if not is_connected():
            reasons.append("discord: not connected to the gateway")
        return HealthStatus(tuple(reasons))

    return check


async def _ping(database: Database) -> None:
    async with database.transaction() as tx:
        await tx.fetch_value("SELECT 1")
