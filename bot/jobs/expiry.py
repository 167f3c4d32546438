"""The answer to a job id that has no record: expired (pruned by retention) or never made."""

from __future__ import annotations

from bot.errors import JobExpired, JobNotFound
from bot.store.database import Transaction
from bot.store.jobs import JobRepository

EXPIRED_MESSAGE = (
    "Job #{job_id} has expired: old jobs' records are not kept, so its buttons and details "
    "no longer work. Run /imagine with the prompt again to make it anew."
)


async def missing_job(tx: Transaction, repo: JobRepository, job_id: int) -> JobNotFound:
    """The error for a job id without a record; ``JobExpired`` when a newer job exists."""
    # Ids only grow, and retention deletes old jobs only: a gap below the newest id was pruned.
    if 0 < job_id < await repo.newest_id(tx):
        return JobExpired(EXPIRED_MESSAGE.format(job_id=job_id))
    return JobNotFound(f"Job #{job_id} does not exist.")
