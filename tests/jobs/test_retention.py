"""The pruner deletes expired finished jobs in batches, and never a live job or its parent."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import JobExpired, JobNotFound
from bot.jobs.retention import DAY, Pruner
from bot.model import Action, JobState
from bot.quota.rollup import LedgerRollup
from bot.settings import QuotaSettings, RetentionSettings
from tests.jobs.conftest import Clock, System


def pruner(system: System, *, days: float = 30, batch: int = 2) -> Pruner:
    settings = RetentionSettings(job_days=days, prune_batch=batch)
    return Pruner(system.db, settings, clock=system.clock, sleep=system.sleep)


async def finished(system: System, *texts: str) -> list[int]:
    jobs = await system.imagine(*texts)
    await system.dispatcher.drain()
    return [job.id for job in jobs]


async def test_finished_jobs_older_than_the_retention_are_deleted_in_batches(
    system: System,
) -> None:
    old = await finished(system, "one", "two", "three", "four", "five")
    system.clock.advance(31 * DAY)
    recent = await finished(system, "six")  # keeps newest-id from being one of the old
    report = await pruner(system, batch=2).prune_once()
    assert report.jobs == len(old)
    for job_id in old:
        with pytest.raises(JobExpired, match="has expired"):
            await system.jobs.get(job_id)
    assert (await system.job(recent[0])).state is JobState.SUCCEEDED


async def test_live_jobs_and_parents_of_live_jobs_are_kept(system: System) -> None:
    (parent,) = await finished(system, "a lighthouse")
    (waiting,) = await system.imagine("still waiting")
    child = await system.press(parent, Action.UPSCALE, 1)  # waits: no dispatch
    system.clock.advance(400 * DAY)
    assert (await pruner(system).prune_once()).jobs == 0
    assert (await system.job(parent)).state is JobState.SUCCEEDED
    assert (await system.job(waiting.id)).state is JobState.QUEUED
    await system.dispatcher.drain()
    system.clock.advance(400 * DAY)
    # The newest job stays, so that an id below it with no record reads as expired.
    assert (await pruner(system).prune_once()).jobs == 2
    with pytest.raises(JobExpired):
        await system.jobs.get(parent)
    assert (await system.job(child.id)).state is JobState.SUCCEEDED


async def test_a_button_on_an_expired_job_says_so(system: System) -> None:
    (parent,) = await finished(system, "a lighthouse")
    await finished(system, "a newer job")
    system.clock.advance(31 * DAY)
    await finished(system, "the newest")
    await pruner(system).prune_once()
    with pytest.raises(JobExpired, match="expired"):
        await system.press(parent, Action.UPSCALE, 1)


async def test_an_id_never_given_out_is_not_found_rather_than_expired(system: System) -> None:
    with pytest.raises(JobNotFound) as caught:
        await system.jobs.get(12345)
    assert not isinstance(caught.value, JobExpired)


async def test_the_report_counts_what_the_next_pass_removes(system: System) -> None:
    await finished(system, "one", "two")
    system.clock.advance(31 * DAY)
    await system.imagine("waiting")
    prune = pruner(system)
    report = await prune.report()
    assert report.prunable_jobs == 2
    assert report.jobs_by_state["succeeded"] == 2
    assert report.jobs_by_state["queued"] == 1
    assert report.size_bytes > 0
    await prune.prune_once()
    assert (await prune.report()).prunable_jobs == 0


async def test_the_background_task_prunes_every_interval_until_stopped(system: System) -> None:
    await finished(system, "one")
    system.clock.advance(31 * DAY)
    await system.imagine("the newest")
    delays: list[float] = []
    two_passes = asyncio.Event()

    async def sleep(seconds: float) -> None:  # each pass ends here; time never passes
        delays.append(seconds)
        if len(delays) == 2:
            two_passes.set()
        await asyncio.sleep(0)

    settings = RetentionSettings(job_days=30)
    prune = Pruner(system.db, settings, clock=system.clock, sleep=sleep)
    prune.start()
    await two_passes.wait()
    await prune.stop()
    assert delays[:2] == [3600.0, 3600.0]
    assert (await prune.report()).jobs_by_state["succeeded"] == 0


def test_the_cutoff_follows_the_clock() -> None:
    clock = Clock(1_000_000_000.0)
    prune = Pruner(None, RetentionSettings(job_days=1), clock=clock)  # type: ignore[arg-type]
    assert prune.cutoff() == 1_000_000_000.0 - DAY


async def test_a_pass_rolls_up_the_ledger_of_closed_periods(system: System) -> None:
    await finished(system, "one", "two")
    rollup = LedgerRollup(system.db, QuotaSettings(), clock=system.clock)
    prune = Pruner(
        system.db, RetentionSettings(), clock=system.clock, sleep=system.sleep, rollup=rollup
    )
    assert (await prune.report()).rollup_entries == 0  # the day is not over
    system.clock.advance(DAY)
    report = await prune.report()
    assert (report.rollup_entries, report.rollup_rows) == (4, 1)
    assert (await prune.prune_once()).ledger_entries == 4
    assert (await prune.report()).rollup_entries == 0
    (row,) = await system.quota.ledger(guild_id=1)
    assert row.reason == "2 jobs: 2 charged, 0 refunded"
