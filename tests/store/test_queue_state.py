"""The shared queue's tables on PostgreSQL: who waits where in the rings and lines."""

from collections.abc import AsyncIterator

import pytest

import bot.store.postgres as postgres_store
from bot.model import JobState, SpeedMode
from bot.store.connect import open_database
from bot.store.database import Database, Transaction, migrations
from bot.store.jobs import JobRepository
from bot.store.queue_state import GuildMove, QueueState
from tests.postgres import postgres_schema
from tests.store.test_jobs import new_job

repo = JobRepository()
state = QueueState()


@pytest.fixture
async def pg() -> AsyncIterator[Database]:
    async with postgres_schema() as url:
        database = await open_database(url)
        try:
            yield database
        finally:
            await database.close()


async def ring(tx: Transaction, speed: SpeedMode) -> list[tuple[int, int, bool]]:
    rows = await tx.fetch_all(
        "SELECT guild_id, deficit, granted FROM queue_guilds WHERE speed = ? AND active"
        " ORDER BY turn",
        (speed.value,),
    )
    return [(int(row[0]), int(row[1]), bool(row[2])) for row in rows]


async def line(tx: Transaction, speed: SpeedMode, guild: int) -> list[int]:
    rows = await tx.fetch_all(
        "SELECT user_id FROM queue_members WHERE speed = ? AND guild_id = ? AND active"
        " ORDER BY turn",
        (speed.value, guild),
    )
    return [int(row[0]) for row in rows]


async def test_queued_jobs_put_their_guilds_and_members_in_line_in_arrival_order(
    pg: Database,
) -> None:
    async with pg.transaction() as tx:
        await repo.insert_many(
            tx,
            [new_job(guild=2, user=20), new_job(guild=1, user=10), new_job(guild=2, user=21)],
            now=1.0,
        )
        await repo.insert(tx, new_job(guild=3, user=30, speed=SpeedMode.RELAX), now=2.0)
        assert await ring(tx, SpeedMode.FAST) == [(1, 0, False), (2, 0, False)]
        assert await line(tx, SpeedMode.FAST, 2) == [20, 21]
        assert await ring(tx, SpeedMode.RELAX) == []  # relax has no ring of guilds
        assert await line(tx, SpeedMode.RELAX, 3) == [30]


async def test_a_guild_that_left_the_ring_comes_back_at_the_end_without_its_deficit(
    pg: Database,
) -> None:
    async with pg.transaction() as tx:
        await repo.insert_many(tx, [new_job(guild=1), new_job(guild=2)], now=1.0)
        await state.move(
            tx,
            SpeedMode.FAST,
            [GuildMove(1, 0, False, None, active=False), GuildMove(2, 700, True, None, True)],
        )
        await repo.insert(tx, new_job(guild=1), now=2.0)
        await repo.insert(tx, new_job(guild=2), now=2.0)  # already waiting: keeps its place
        assert await ring(tx, SpeedMode.FAST) == [(2, 700, True), (1, 0, False)]


async def test_a_job_handed_back_waits_at_the_front_with_its_weight_given_back(
    pg: Database,
) -> None:
    async with pg.transaction() as tx:
        job = await repo.insert(tx, new_job(guild=1, user=10, weight=1500), now=1.0)
        await repo.insert(tx, new_job(guild=2), now=1.0)
        claimed = await repo.transition(tx, job.id, JobState.QUEUED, JobState.SUBMITTING, now=2.0)
        assert claimed is not None
        # The claim took guild 1's last job: guild 1 left the ring, its line with it.
        await state.move(tx, SpeedMode.FAST, [GuildMove(1, 0, False, None, False)])
        assert await ring(tx, SpeedMode.FAST) == [(2, 0, False)]
        # The provider was busy: it waits again where it was, its weight given back.
        await repo.transition(tx, job.id, JobState.SUBMITTING, JobState.QUEUED, now=3.0)
        assert await ring(tx, SpeedMode.FAST) == [(1, 1500, False), (2, 0, False)]
        await repo.insert(tx, new_job(guild=1, user=11), now=4.0)
        assert await line(tx, SpeedMode.FAST, 1) == [10, 11]


async def test_a_job_moved_to_relax_waits_in_the_relax_line_only(pg: Database) -> None:
    async with pg.transaction() as tx:
        job = await repo.insert(tx, new_job(guild=1, user=10), now=1.0)
        await repo.set_speed(tx, job.id, speed=SpeedMode.RELAX, cost=0, prompt="a cat")
        assert await line(tx, SpeedMode.RELAX, 1) == [10]
        assert await line(tx, SpeedMode.FAST, 1) == []


async def test_a_member_who_cancelled_everything_queues_again_at_the_back(pg: Database) -> None:
    async with pg.transaction() as tx:
        alice = await repo.insert(tx, new_job(guild=1, user=10), now=1.0)
        kept = await repo.insert(tx, new_job(guild=1, user=10), now=1.0)
        await repo.insert_many(tx, [new_job(guild=1, user=11), new_job(guild=1, user=12)], now=2.0)
        await repo.transition(tx, alice.id, JobState.QUEUED, JobState.CANCELLED, now=3.0)
        assert await line(tx, SpeedMode.FAST, 1) == [10, 11, 12]  # one job of hers still waits
        await repo.transition(tx, kept.id, JobState.QUEUED, JobState.CANCELLED, now=3.0)
        assert await line(tx, SpeedMode.FAST, 1) == [11, 12]
        await repo.insert(tx, new_job(guild=1, user=10), now=4.0)
        assert await line(tx, SpeedMode.FAST, 1) == [11, 12, 10]


async def test_relax_usage_decays_and_adds_up_over_two_charges(pg: Database) -> None:
    async with pg.transaction() as tx:
        await state.charge_relax(tx, {10: 1000}, now=0.0, half_life=100.0)
        await state.charge_relax(tx, {10: 1000, 11: 4000}, now=100.0, half_life=100.0)
        rows = await tx.fetch_all("SELECT user_id, value, at, rank FROM relax_usage ORDER BY 1")
    usage = {int(row[0]): (float(row[1]), float(row[2]), float(row[3])) for row in rows}
    assert usage[10][:2] == pytest.approx((1500.0, 100.0))  # half of 1000, then 1000 more
    assert usage[11][:2] == pytest.approx((4000.0, 100.0))
    assert usage[10][2] < usage[11][2]  # less usage ranks first


async def test_jobs_waiting_before_the_shared_queue_join_it_in_arrival_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    earlier = [migration for migration in migrations("postgresql") if migration[0] < 8]
    async with postgres_schema() as url:
        with monkeypatch.context() as patch:
            patch.setattr(postgres_store, "migrations", lambda _engine: earlier)
            patch.setattr(QueueState, "activate", _no_tables_yet)
            database = await open_database(url)
            async with database.transaction() as tx:
                await repo.insert_many(
                    tx,
                    [
                        new_job(guild=2, user=20),
                        new_job(guild=1, user=10),
                        new_job(guild=2, user=21, speed=SpeedMode.TURBO),
                    ],
                    now=1.0,
                )
        try:
            assert [name for name in await database.migrate()] == ["0008_shared_queue"]
            async with database.transaction() as tx:
                assert await ring(tx, SpeedMode.FAST) == [(2, 0, False), (1, 0, False)]
                assert await ring(tx, SpeedMode.TURBO) == [(2, 0, False)]
                assert await line(tx, SpeedMode.TURBO, 2) == [21]
        finally:
            await database.close()


async def _no_tables_yet(*_args: object, **_options: object) -> None:
    """``activate`` before migration 0008: there is nothing to write to."""
