"""Every path ends in exactly one terminal state, charged only when delivered."""

import asyncio
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import FailureKind, ProviderBusy, ProviderRejected, ProviderUnavailable
from bot.jobs import DeliveryFailed
from bot.model import Job, JobState
from bot.providers.base import ImagineRequest, Submission, TaskState
from bot.settings import ProviderSettings
from tests.fakes.memory_provider import MemoryProvider, Script
from tests.jobs.conftest import USER, RecordingDeliverer, build

SCRIPTS = {
    "success": Script(polls=2),
    "failure": Script(polls=2, ending="failure"),
    "provider_cancel": Script(polls=2, ending="cancel"),
    "stall": Script(ending="stall"),
    "forget_early": Script(forget_at=1),
    "forget_late": Script(polls=4, forget_at=3),
    "slow": Script(polls=6),
}
PLANS = [*SCRIPTS, "busy", "unavailable", "rejected", "undeliverable", "cancel", "cancel_late"]


class PlannedProvider(MemoryProvider):
    """Each job follows its own plan, whatever order the scheduler submits in."""

    def __init__(self, plans: dict[int, str]) -> None:
        super().__init__()
        self.plans = plans
        self.refused: Counter[int] = Counter()
        self.accepted: Counter[int] = Counter()

    async def submit_imagine(self, request: ImagineRequest) -> Submission:
        plan = self.plans[request.job_id]
        if plan == "busy" and not self.refused[request.job_id]:
            self.refused[request.job_id] += 1
            raise ProviderBusy("queue full")
        if plan == "unavailable":
            raise ProviderUnavailable("down")
        if plan == "rejected":
            raise ProviderRejected("banned", kind=FailureKind.BANNED_PROMPT)
        first = not self.accepted[request.job_id]
        self.accepted[request.job_id] += 1
        self.scripts.appendleft(SCRIPTS.get(plan, Script(polls=2)) if first else Script(polls=2))
        return await super().submit_imagine(request)


class PlannedDeliverer(RecordingDeliverer):
    def __init__(self, plans: dict[int, str]) -> None:
        super().__init__()
        self.plans = plans

    async def deliver(self, job: Job, task: TaskState) -> int | None:
        if self.plans[job.id] == "undeliverable":
            raise DeliveryFailed("missing permissions", retryable=False)
        return await super().deliver(job, task)


async def run(plan: list[str], slots: int) -> None:
    plans = dict(enumerate(plan, start=1))
    system = await build(
        "sqlite:///:memory:",
        provider=PlannedProvider(plans),
        deliverer=PlannedDeliverer(plans),
        provider_settings=ProviderSettings(max_concurrency=slots),
    )
    try:
        jobs = await system.imagine(*[f"job {n}" for n in range(len(plan))])
        assert [job.id for job in jobs] == list(plans)
        for job in jobs:
            if plans[job.id] == "cancel":
                await system.jobs.cancel(job.id, user_id=USER)
        for round_number in range(30):
            await system.dispatcher.drain()
            if round_number == 0:
                for job in jobs:
                    current = await system.job(job.id)
                    if plans[job.id] == "cancel_late" and not current.state.terminal:
                        await system.jobs.cancel(job.id, user_id=USER)
            system.clock.advance(400)
            if system.dispatcher.idle:
                break
        final = [await system.job(job.id) for job in jobs]
        assert all(job.state.terminal for job in final), [(j.id, j.state) for j in final]
        terminal = Counter(
            event.job.id
            for event in system.seen
            if event.kind in ("succeeded", "failed", "cancelled")
        )
        assert terminal == Counter(job.id for job in jobs)
        for job in final:
            expected = {
                "success": JobState.SUCCEEDED,
                "slow": JobState.SUCCEEDED,
                "busy": JobState.SUCCEEDED,
                "forget_early": JobState.SUCCEEDED,
                "cancel": JobState.CANCELLED,
                "provider_cancel": JobState.CANCELLED,
            }.get(plans[job.id], JobState.FAILED)
            if plans[job.id] != "cancel_late":
                assert job.state is expected, (job.id, plans[job.id], job.state)
        balance = await system.balance()
        charged = sum(job.cost for job in final if job.state is JobState.SUCCEEDED)
        assert (balance.member_used, balance.member_reserved) == (charged, 0)
        async with system.db.transaction() as tx:
            rows = await tx.fetch_all(
                "SELECT job_id, COUNT(*) FROM quota_ledger"
                " WHERE kind IN ('commit', 'refund') GROUP BY job_id"
            )
        assert {row[0]: row[1] for row in rows} == {job.id: 1 for job in jobs}
        assert system.provider.peak_active <= slots
    finally:
        await system.dispatcher.stop()
        await system.db.close()


@settings(max_examples=60, deadline=None)
@given(plan=st.lists(st.sampled_from(PLANS), min_size=1, max_size=6), slots=st.integers(1, 3))
def test_every_job_ends_exactly_once_and_is_charged_only_when_delivered(
    plan: list[str], slots: int
) -> None:
    asyncio.run(run(plan, slots))
