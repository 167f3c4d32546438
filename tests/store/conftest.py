from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.database import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database in a real SQLite file, closed after the test."""
    database = await Database.open(f"sqlite:///{tmp_path}/store.db")
    yield database
    await database.close()
