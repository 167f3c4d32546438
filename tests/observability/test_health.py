from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.observability.health import HealthStatus, database_and_gateway_check
from bot.store.connect import open_database
from bot.store.database import Database


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await open_database(f"sqlite:///{tmp_path / 'tessera.db'}")
    yield db
    await db.close()


@pytest.mark.parametrize(
    ("connected", "reasons"),
    [(True, ()), (False, ("discord: not connected to the gateway",))],
)
async def test_database_answers_and_gateway_state(
    database: Database, connected: bool, reasons: tuple[str, ...]
) -> None:
    check = database_and_gateway_check(database, lambda: connected)
    status = await check()
    assert status == HealthStatus(reasons)
    assert status.healthy is (not reasons)


async def test_a_closed_database_is_reported(tmp_path: Path) -> None:
    db = await open_database(f"sqlite:///{tmp_path / 'tessera.db'}")
    await db.close()
    status = await database_and_gateway_check(db, lambda: True)()
    assert not status.healthy
    assert len(status.reasons) == 1
    assert status.reasons[0].startswith("database: ")


async def test_a_database_that_does_not_answer_in_time_is_reported(database: Database) -> None:
    check = database_and_gateway_check(database, lambda: True, timeout=0.05)
    # A transaction held open elsewhere blocks the ping, as a wedged writer would.
    async with database.transaction():
        status = await check()
    assert status.reasons == ("database: no answer within 0.05 s",)
