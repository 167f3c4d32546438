from collections.abc import AsyncIterator

import pytest

from bot.store.connect import open_database
from bot.store.database import Database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database (a SQLite file, then a PostgreSQL schema), closed after the test."""
    database = await open_database(database_url)
    yield database
    await database.close()
