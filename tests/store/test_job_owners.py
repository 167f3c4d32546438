from bot.model import JobState
from bot.store.database import Database
from bot.store.jobs import JobRepository
from tests.store.test_jobs import new_job


async def test_queued_jobs_are_nobodys_and_adopting_the_unowned_leaves_them(
    db: Database,
) -> None:
    repo = JobRepository()
    async with db.transaction() as tx:
        queued, claimed = await repo.insert_many(tx, [new_job(), new_job()], now=1.0)
        assert await repo.live_owners(tx) == set()  # a queue of any length: nobody's
        await repo.transition(
            tx, claimed.id, JobState.QUEUED, JobState.SUBMITTING, now=2.0, owner="w1"
        )
        assert await repo.live_owners(tx) == {"w1"}
        assert await repo.adopt(tx, "w2", None) == []  # the queued one stays nobody's
        adopted = await repo.adopt(tx, "w2", "w1")
        assert [job.id for job in adopted] == [claimed.id]
        assert await repo.adopt(tx, "w3", "w1") == []  # once
        assert await repo.live_owners(tx) == {"w2"}
        assert queued.id not in {job.id for job in adopted}
