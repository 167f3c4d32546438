"""The roll-up store: members' per-job entries of a period become one row each."""

from bot.store.database import Database
from bot.store.ledger import LedgerKind, LedgerRepository, NewLedgerEntry
from bot.store.rollup import PeriodKey, RollupRepository, rollup_reason

repo = RollupRepository()
KEY = PeriodKey(1, 100.0)


def entry(user: int, job: int | None, kind: LedgerKind, amount: int, at: float) -> NewLedgerEntry:
    return NewLedgerEntry(
        guild_id=1,
        user_id=user,
        job_id=job,
        kind=kind,
        amount=amount,
        actor_id=None,
        reason="",
        created_at=at,
        period_start=KEY.period_start,
    )


async def test_members_that_net_out_are_rolled_up_and_others_left(db: Database) -> None:
    async with db.transaction() as tx:
        await LedgerRepository().append_many(
            tx,
            [
                entry(10, 1, LedgerKind.RESERVE, 700, 101.0),
                entry(11, 2, LedgerKind.RESERVE, 300, 102.0),  # never settled
                entry(10, 1, LedgerKind.COMMIT, 700, 103.0),
            ],
        )
        assert await repo.next_period(tx, None) == KEY
        assert await repo.next_period(tx, PeriodKey(1, float("inf"))) is None
        assert await repo.members(tx, KEY, after=-1, limit=10) == [10, 11]
        assert await repo.count(tx, KEY) == (3, 2)
        assert await repo.roll_up(tx, KEY, [10, 11]) == 2
        rows = await LedgerRepository().page(tx, guild_id=1)
    assert [(r.id, r.user_id, r.kind, r.amount, r.created_at) for r in rows] == [
        (3, 10, LedgerKind.ROLLUP, 700, 103.0),
        (2, 11, LedgerKind.RESERVE, 300, 102.0),
    ]


def test_the_reason_counts_jobs() -> None:
    assert rollup_reason(40, 2) == "42 jobs: 40 charged, 2 refunded"
    assert rollup_reason(0, 1) == "1 job: 0 charged, 1 refunded"
