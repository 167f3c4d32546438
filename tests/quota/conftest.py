from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.quota import QuotaService
from bot.settings import QuotaSettings
from bot.store.connect import open_database
from bot.store.database import Database

START = datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database on each engine."""
    database = await open_database(database_url)
    yield database
    await database.close()


@pytest.fixture
def quota(db: Database, clock: Clock) -> QuotaService:
    return QuotaService(db, QuotaSettings(), clock=clock)
