"""Small shared steps for the quota tests: each reservation in its own transaction."""

from collections.abc import Sequence

from bot.quota import QuotaService
from bot.store.database import Database

GUILD = 1
MEMBER = 10


async def reserve(
    db: Database,
    quota: QuotaService,
    job_id: int,
    amount: int,
    *,
    user_id: int = MEMBER,
    role_ids: Sequence[int] = (),
    guild_id: int = GUILD,
) -> None:
    async with db.transaction() as tx:
        await quota.reserve(
            tx, guild_id=guild_id, user_id=user_id, role_ids=role_ids, job_id=job_id, amount=amount
        )


async def commit(db: Database, quota: QuotaService, job_id: int) -> None:
    async with db.transaction() as tx:
        await quota.commit(tx, job_id=job_id)


async def refund(db: Database, quota: QuotaService, job_id: int, reason: str = "failed") -> None:
    async with db.transaction() as tx:
        await quota.refund(tx, job_id=job_id, reason=reason)


async def usage_rows(db: Database) -> dict[tuple[int, int, float], tuple[int, int, int, int, int]]:
    """Every usage summary row: key -> (reserved, used, bonus, committed, jobs)."""
    async with db.transaction() as tx:
        rows = await tx.fetch_all(
            "SELECT guild_id, user_id, period_start, reserved, used, bonus, committed, jobs"
            " FROM quota_usage"
        )
    return {(r[0], r[1], r[2]): (r[3], r[4], r[5], r[6], r[7]) for r in rows}


async def ledger_count(db: Database) -> int:
    async with db.transaction() as tx:
        count: int = await tx.fetch_value("SELECT COUNT(*) FROM quota_ledger")
    return count
