"""A process that dies inside a quota transaction leaves no half-written entry behind."""

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest

from bot.quota import QuotaService
from bot.settings import QuotaSettings
from bot.store.connect import open_database
from tests.quota.helpers import GUILD, MEMBER, ledger_count, reserve, usage_rows

ROOT = Path(__file__).resolve().parents[2]

# The child reserves (or settles) job 2 and dies at the marked point: os._exit skips every
# cleanup, as a killed process would.
CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    from bot.quota import QuotaService
    from bot.settings import QuotaSettings
    from bot.store.connect import open_database
    from bot.store.ledger import LedgerRepository

    url, step, die, how = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]

    async def crash(*args, **kwargs):
        os._exit(3)

    if die == "before_ledger":
        LedgerRepository.append = LedgerRepository.append_many = crash

    async def main():
        db = await open_database(url)
        quota = QuotaService(db, QuotaSettings())

        async def body(tx):
            if step == "reserve":
                await quota.reserve(
                    tx, guild_id=1, user_id=10, role_ids=[], job_id=2, amount=700
                )
            else:
                await quota.commit(tx, job_id=1)
            if die == "before_commit":
                os._exit(3)

        if how == "run":  # the whole transaction on the database thread, which dies there
            await db.run(body)
        else:
            async with db.transaction() as tx:
                await body(tx)
        os._exit(0)

    asyncio.run(main())
    """
)


async def run_child(url: str, step: str, die: str, how: str = "transaction") -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, url, step, die, how, cwd=ROOT
    )
    return await process.wait()


@pytest.mark.parametrize("how", ["transaction", "run"])
@pytest.mark.parametrize("step", ["reserve", "commit"])
@pytest.mark.parametrize("die", ["before_ledger", "before_commit"])
async def test_a_crash_mid_transaction_writes_nothing(
    tmp_path: Path, step: str, die: str, how: str
) -> None:
    url = f"sqlite:///{tmp_path}/crash.db"
    db = await open_database(url)
    quota = QuotaService(db, QuotaSettings())
    await reserve(db, quota, job_id=1, amount=1_000)
    before = (await ledger_count(db), await usage_rows(db))
    await db.close()

    assert await run_child(url, step, die, how) == 3

    db = await open_database(url)
    try:
        assert (await ledger_count(db), await usage_rows(db)) == before
        quota = QuotaService(db, QuotaSettings())
        balance = await quota.balance(guild_id=GUILD, user_id=MEMBER, role_ids=[])
        assert (balance.member_reserved, balance.member_used) == (1_000, 0)
    finally:
        await db.close()


@pytest.mark.parametrize("how", ["transaction", "run"])
async def test_the_same_child_without_a_crash_does_write(tmp_path: Path, how: str) -> None:
    url = f"sqlite:///{tmp_path}/ok.db"
    db = await open_database(url)
    await db.close()
    assert await run_child(url, "reserve", "never", how) == 0
    db = await open_database(url)
    try:
        assert await ledger_count(db) == 1
    finally:
        await db.close()
