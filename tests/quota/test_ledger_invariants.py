"""Hypothesis drives reserve/commit/refund/grant/reset/adjust in any order on a real file."""

import asyncio
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from bot.errors import QuotaExceeded, UserFacingError
from bot.quota import LedgerEntry, LedgerKind, QuotaService
from bot.quota.rollup import LedgerRollup
from bot.settings import QuotaSettings
from bot.store.connect import open_database
from bot.store.usage import GUILD_POOL
from tests.quota.conftest import Clock
from tests.quota.helpers import GUILD, commit, refund, reserve, usage_rows

T = TypeVar("T")
MEMBERS = (10, 11, 12)
POOL_LIMIT, MEMBER_LIMIT = 12_000, 5_000
HOUR = 3_600.0
AUDIT = (LedgerKind.GRANT, LedgerKind.RESET, LedgerKind.ADJUST)

members = st.sampled_from(MEMBERS)
subjects = st.sampled_from((*MEMBERS, None))
amounts = st.sampled_from((0, 1, 250, 1_000, 2_500, 4_999))


def fold(entries: list[LedgerEntry]) -> dict[tuple[int, int, float], list[int]]:
    """The usage summary the ledger adds up to: key -> [reserved, used, bonus, committed, jobs]."""
    totals: dict[tuple[int, int, float], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for entry in entries:
        member = entry.user_id if entry.user_id is not None else GUILD_POOL
        own = totals[(entry.guild_id, member, entry.period_start)]
        pool = totals[(entry.guild_id, GUILD_POOL, entry.period_start)]
        job_rows = (own, pool)
        if entry.kind is LedgerKind.RESERVE:
            for row in job_rows:
                row[0] += entry.amount
        elif entry.kind is LedgerKind.COMMIT:
            for row in job_rows:
                row[0] -= entry.amount
                row[1] += entry.amount
                row[3] += entry.amount
                row[4] += 1
        elif entry.kind is LedgerKind.REFUND:
            for row in job_rows:
                row[0] -= entry.amount
        elif entry.kind is LedgerKind.ROLLUP:
            for row in job_rows:
                row[1] += entry.amount
                row[3] += entry.amount
                row[4] += entry.jobs_charged
        elif entry.kind is LedgerKind.RESET:
            own[1] += entry.amount
        else:
            own[2] += entry.amount
    return totals


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = tempfile.mkdtemp()
        self.clock = Clock()
        self.db = self.run(open_database(f"sqlite:///{self.folder}/ledger.db"))
        self.quota = QuotaService(self.db, QuotaSettings(), clock=self.clock)
        self.rollup = LedgerRollup(self.db, QuotaSettings(), clock=self.clock)
        self.next_job = 1
        self.reserved: dict[int, str] = {}

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def teardown(self) -> None:
        self.run(self.db.close())
        self.loop.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    @initialize()
    def set_budgets(self) -> None:
        quota = self.quota
        self.run(quota.set_guild_budget(guild_id=GUILD, amount=POOL_LIMIT, actor_id=1, reason=""))
        self.run(
            quota.set_default_member_budget(
                guild_id=GUILD, amount=MEMBER_LIMIT, actor_id=1, reason=""
            )
        )

    @rule(user=members, amount=amounts)
    def reserve(self, user: int, amount: int) -> None:
        job_id, self.next_job = self.next_job, self.next_job + 1
        refused: QuotaExceeded | None = None
        try:
            self.run(reserve(self.db, self.quota, job_id, amount, user_id=user))
        except QuotaExceeded as error:
            refused = error
        if refused is None:
            self.reserved[job_id] = "reserved"
        else:
            assert 0 <= refused.available < amount

    @rule(data=st.data(), charged=st.booleans())
    def settle(self, data: st.DataObject, charged: bool) -> None:
        # Any job id, including settled and never-reserved ones: settling is idempotent.
        job_id = data.draw(st.integers(min_value=1, max_value=self.next_job))
        if charged:
            self.run(commit(self.db, self.quota, job_id))
        else:
            self.run(refund(self.db, self.quota, job_id))
        if self.reserved.get(job_id) == "reserved":
            self.reserved[job_id] = "committed" if charged else "refunded"

    @rule(user=members, batch=st.lists(amounts, min_size=1, max_size=4))
    def reserve_batch(self, user: int, batch: list[int]) -> None:
        job_ids = range(self.next_job, self.next_job + len(batch))
        self.next_job += len(batch)
        refused: QuotaExceeded | None = None
        try:
            self.run(self._reserve_many(user, dict(zip(job_ids, batch, strict=True))))
        except QuotaExceeded as error:
            refused = error
        if refused is None:
            self.reserved.update(dict.fromkeys(job_ids, "reserved"))
        else:
            assert 0 <= refused.available < sum(batch)

    async def _reserve_many(self, user: int, amounts: dict[int, int]) -> None:
        async with self.db.transaction() as tx:
            await self.quota.reserve_many(
                tx, guild_id=GUILD, user_id=user, role_ids=(), amounts=amounts
            )

    @rule(data=st.data(), charged=st.booleans())
    def settle_batch(self, data: st.DataObject, charged: bool) -> None:
        ids = st.integers(min_value=1, max_value=self.next_job)
        job_ids = data.draw(st.lists(ids, min_size=1, max_size=5, unique=True))
        self.run(self._settle_many(job_ids, charged))
        for job_id in job_ids:
            if self.reserved.get(job_id) == "reserved":
                self.reserved[job_id] = "committed" if charged else "refunded"

    async def _settle_many(self, job_ids: list[int], charged: bool) -> None:
        async with self.db.transaction() as tx:
            if charged:
                await self.quota.commit_many(tx, job_ids)
            else:
                await self.quota.refund_many(tx, job_ids, reason="")

    @rule(user=subjects, amount=st.integers(min_value=1, max_value=3_000))
    def grant(self, user: int | None, amount: int) -> None:
        self.run(
            self.quota.grant(guild_id=GUILD, user_id=user, amount=amount, actor_id=1, reason="")
        )

    @rule(user=subjects, amount=st.integers(min_value=-6_000, max_value=3_000).filter(bool))
    def adjust(self, user: int | None, amount: int) -> None:
        try:
            self.run(
                self.quota.adjust(
                    guild_id=GUILD, user_id=user, amount=amount, actor_id=1, reason=""
                )
            )
        except UserFacingError:
            assert amount < 0

    @rule(user=subjects)
    def reset(self, user: int | None) -> None:
        self.run(self.quota.reset(guild_id=GUILD, user_id=user, actor_id=1, reason=""))

    @rule(settle_first=st.booleans())
    def roll_up(self, settle_first: bool) -> None:
        if settle_first:
            # Held reservations keep their period as it is: settle them so that some close.
            held = [job for job, state in self.reserved.items() if state == "reserved"]
            self.run(self._settle_many(held, charged=False))
            self.reserved.update(dict.fromkeys(held, "refunded"))
        before = self.run(self.quota.ledger(guild_id=GUILD, limit=1_000_000))
        self.run(self.rollup.run_once())
        after = self.run(self.quota.ledger(guild_id=GUILD, limit=1_000_000))
        # Moderator entries are the audit trail: kept as they were.
        assert [e for e in after if e.kind in AUDIT] == [e for e in before if e.kind in AUDIT]
        assert self.run(self.rollup.run_once()).entries == 0  # a second pass changes nothing
        assert self.run(self.quota.ledger(guild_id=GUILD, limit=1_000_000)) == after

    @rule(hours=st.sampled_from((1.0, 6.0, 24.0)))
    def advance(self, hours: float) -> None:
        self.clock.advance(hours * HOUR)

    @invariant()
    def summary_equals_the_ledger_and_stays_within_limits(self) -> None:
        entries = self.run(self.quota.ledger(guild_id=GUILD, limit=1_000_000))
        rows = self.run(usage_rows(self.db))
        folded = {key: tuple(values) for key, values in fold(entries).items()}
        assert {key: value for key, value in rows.items() if any(value)} == {
            key: value for key, value in folded.items() if any(value)
        }
        for (_, user, _), (reserved, used, bonus, _, _) in rows.items():
            limit = POOL_LIMIT if user == GUILD_POOL else MEMBER_LIMIT
            assert reserved >= 0
            assert used >= 0
            assert limit + bonus - used - reserved >= 0

    @invariant()
    def each_job_is_settled_at_most_once(self) -> None:
        entries = self.run(self.quota.ledger(guild_id=GUILD, limit=1_000_000))
        settled = [e for e in entries if e.kind in (LedgerKind.COMMIT, LedgerKind.REFUND)]
        settlements = Counter(e.job_id for e in settled)
        assert all(count == 1 for count in settlements.values())
        expected = {job for job, state in self.reserved.items() if state != "reserved"}
        # A rolled-up job's settlement is counted in its member's roll-up row instead.
        rolled = [e for e in entries if e.kind is LedgerKind.ROLLUP]
        assert set(settlements) <= expected
        assert len(settlements) + sum(e.jobs_charged + e.jobs_refunded for e in rolled) == len(
            expected
        )
        assert len({(e.user_id, e.period_start) for e in rolled}) == len(rolled)
        held = {job for job, state in self.reserved.items() if state == "reserved"}
        reserves = {e.job_id for e in entries if e.kind is LedgerKind.RESERVE}
        assert held <= reserves  # a held reservation's period is never rolled up
        for entry in settled:
            assert entry.job_id is not None
            expected_kind = {"committed": "commit", "refunded": "refund"}[
                self.reserved[entry.job_id]
            ]
            assert entry.kind.value == expected_kind


LedgerMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerInvariants = LedgerMachine.TestCase
