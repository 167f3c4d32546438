import dataclasses
import json
from typing import Any

import pytest

from bot.errors import FailureKind, IllegalTransition
from bot.model import TRANSITIONS, Action, JobKind, JobState, ProviderButton, SpeedMode
from bot.store.database import Database
from bot.store.jobs import JobRepository, NewJob

repo = JobRepository()


def new_job(guild: int = 1, user: int = 10, **changes: object) -> NewJob:
    fields: dict[str, Any] = {
        "guild_id": guild,
        "channel_id": 100,
        "user_id": user,
        "kind": JobKind.IMAGINE,
        "prompt": "a cat --seed 7",
        "params": {"quality": 1.0, "no": ["dog"]},
        "seed": 7,
        "seed_explicit": False,
        "speed": SpeedMode.FAST,
        "cost": 1000,
        "weight": 1000,
    }
    fields.update(changes)
    return NewJob(**fields)


async def insert(db: Database, *jobs: NewJob, now: float = 5.0) -> list[int]:
    async with db.transaction() as tx:
        return [(await repo.insert(tx, job, now=now)).id for job in jobs]


async def test_a_new_job_round_trips_as_a_frozen_model(db: Database) -> None:
    (job_id,) = await insert(
        db,
        new_job(kind=JobKind.UPSCALE, action=Action.UPSCALE, action_index=2, seed_explicit=True),
    )
    async with db.transaction() as tx:
        job = await repo.get(tx, job_id)
        assert await repo.get(tx, job_id + 1) is None
    assert job is not None
    assert (job.kind, job.action, job.action_index, job.seed_explicit) == (
        JobKind.UPSCALE,
        Action.UPSCALE,
        2,
        True,
    )
    assert job.params == {"quality": 1.0, "no": ["dog"]}
    assert (job.state, job.created_at, job.attempts, job.provider_buttons) == (
        JobState.QUEUED,
        5.0,
        0,
        (),
    )


@pytest.mark.parametrize("count", [1, 3, 450])
async def test_a_batch_insert_keeps_order_and_equals_single_inserts(
    db: Database, count: int
) -> None:
    batch = [new_job(user=n, prompt=f"job {n} --seed {n}", seed=n) for n in range(count)]
    async with db.transaction() as tx:
        stored = await repo.insert_many(tx, batch, now=5.0)
        read = await repo.get_many(tx, [job.id for job in stored])
    assert [job.prompt for job in stored] == [job.prompt for job in batch]
    assert [job.id for job in stored] == list(range(stored[0].id, stored[0].id + count))
    assert stored == read
    (single_id,) = await insert(db, batch[0])
    async with db.transaction() as tx:
        single = await repo.get(tx, single_id)
    assert single == dataclasses.replace(stored[0], id=single_id)


@pytest.mark.parametrize(
    "params",
    [
        {"quality": 1.0, "no": ["dog"], "sref": []},
        {"nested": {"no": ["dog"]}, "deep": [["x"]]},
    ],
)
async def test_every_read_of_a_job_owns_its_params(db: Database, params: dict[str, object]) -> None:
    (job_id,) = await insert(db, new_job(params=params))
    async with db.transaction() as tx:
        first = await repo.get(tx, job_id)
        second = await repo.get(tx, job_id)
    assert first is not None
    assert second is not None
    assert first.params == second.params == params
    for value in first.params.values():
        if isinstance(value, list):
            value.append("changed")
        elif isinstance(value, dict):
            value.clear()
    assert second.params == params


async def test_buttons_stored_as_plain_json_lists_read_back(db: Database) -> None:
    buttons = (ProviderButton(custom_id="MJ::JOB::upsample::1::t", label="U1"),)
    (job_id,) = await insert(db, new_job())
    plain = json.dumps([button.model_dump() for button in buttons])
    # SQLite rows from before packing hold text; PostgreSQL's bytea holds the same as bytes.
    stored: str | bytes = plain if db.engine == "sqlite" else plain.encode()
    async with db.transaction() as tx:
        await tx.execute("UPDATE jobs SET provider_buttons = ? WHERE id = ?", (stored, job_id))
        job = await repo.get(tx, job_id)
    assert job is not None
    assert job.provider_buttons == buttons


async def test_a_claim_wins_once(db: Database) -> None:
    (job_id,) = await insert(db, new_job())
    async with db.transaction() as tx:
        first = await repo.transition(
            tx, job_id, JobState.QUEUED, JobState.SUBMITTING, now=6.0, bump_attempts=True
        )
        second = await repo.transition(tx, job_id, JobState.QUEUED, JobState.SUBMITTING, now=6.0)
    assert first is not None
    assert (first.state, first.attempts) == (JobState.SUBMITTING, 1)
    assert second is None


@pytest.mark.parametrize("source", list(JobState))
@pytest.mark.parametrize("target", list(JobState))
async def test_only_the_state_machine_transitions_are_possible(
    db: Database, source: JobState, target: JobState
) -> None:
    async with db.transaction() as tx:
        if target in TRANSITIONS[source]:
            assert await repo.transition(tx, 1, source, target, now=1.0) is None
        else:
            with pytest.raises(IllegalTransition):
                await repo.transition(tx, 1, source, target, now=1.0)


async def test_terminal_transitions_store_results_and_finish_time(db: Database) -> None:
    (job_id,) = await insert(db, new_job())
    buttons = (ProviderButton(custom_id="MJ::JOB::upsample::1::abc", label="U1"),)
    async with db.transaction() as tx:
        await repo.transition(tx, job_id, JobState.QUEUED, JobState.SUBMITTING, now=6.0)
        await repo.transition(
            tx,
            job_id,
            JobState.SUBMITTING,
            JobState.RUNNING,
            now=7.0,
            provider_task_id="t1",
            started_at=7.0,
        )
        job = await repo.transition(
            tx,
            job_id,
            JobState.RUNNING,
            JobState.SUCCEEDED,
            now=9.0,
            provider_buttons=buttons,
            result_urls=("https://x/1.png",),
            result_message_id=55,
        )
    assert job is not None
    assert (job.provider_task_id, job.started_at, job.finished_at) == ("t1", 7.0, 9.0)
    assert (job.provider_buttons, job.result_urls, job.result_message_id) == (
        buttons,
        ("https://x/1.png",),
        55,
    )


async def test_a_failure_keeps_its_kind_and_message(db: Database) -> None:
    (job_id,) = await insert(db, new_job())
    async with db.transaction() as tx:
        await repo.transition(tx, job_id, JobState.QUEUED, JobState.SUBMITTING, now=6.0)
        job = await repo.transition(
            tx,
            job_id,
            JobState.SUBMITTING,
            JobState.FAILED,
            now=6.5,
            failure_kind=FailureKind.BANNED_PROMPT,
            failure_message="banned: cat",
        )
    assert job is not None
    assert (job.failure_kind, job.failure_message) == (FailureKind.BANNED_PROMPT, "banned: cat")


async def test_unknown_columns_are_refused(db: Database) -> None:
    async with db.transaction() as tx:
        with pytest.raises(ValueError, match="settable"):
            await repo.transition(tx, 1, JobState.QUEUED, JobState.CANCELLED, now=1.0, cost=0)


async def test_batch_transitions_move_only_jobs_in_the_source_state(db: Database) -> None:
    ids = await insert(db, new_job(), new_job(), new_job())
    async with db.transaction() as tx:
        await repo.transition(tx, ids[1], JobState.QUEUED, JobState.CANCELLED, now=6.0)
        moved = await repo.transition_many(tx, ids, JobState.QUEUED, JobState.SUBMITTING, now=7.0)
        assert await repo.transition_many(tx, [], JobState.QUEUED, JobState.CANCELLED, now=1) == []
    assert [job.id for job in moved] == [ids[0], ids[2]]


async def test_each_job_gets_its_own_values_in_one_transition(db: Database) -> None:
    first, second, third = await insert(db, new_job(), new_job(), new_job())
    button = ProviderButton(custom_id="MJ::JOB::upsample::1::x", label="U1")
    async with db.transaction() as tx:
        await repo.transition_many(
            tx, [first, second, third], JobState.QUEUED, JobState.SUBMITTING, now=6.0
        )
        await repo.transition(tx, third, JobState.SUBMITTING, JobState.CANCELLED, now=6.5)
        started = await repo.start_many(
            tx, {second: ("task-b", None), first: ("task-a", 4), third: ("task-c", 1)}, now=7.0
        )
        assert [(j.id, j.provider_task_id, j.queue_position, j.started_at) for j in started] == [
            (first, "task-a", 4, 7.0),
            (second, "task-b", None, 7.0),
        ]
        done = await repo.transition_each(
            tx,
            {
                first: {"result_urls": ("a.png",), "provider_buttons": (button,), "progress": 100},
                second: {"result_urls": (), "provider_buttons": (), "progress": 90},
            },
            JobState.RUNNING,
            JobState.SUCCEEDED,
            now=8.0,
        )
        cancelled = await repo.get(tx, third)
    assert [(j.id, j.state, j.result_urls, j.provider_buttons, j.progress) for j in done] == [
        (first, JobState.SUCCEEDED, ("a.png",), (button,), 100),
        (second, JobState.SUCCEEDED, (), (), 90),
    ]
    assert all(job.finished_at == 8.0 for job in done)
    assert cancelled is not None
    assert (cancelled.state, cancelled.provider_task_id) == (JobState.CANCELLED, None)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({1: {"progress": 1}, 2: {"preview_url": "x"}}, "same columns"),
        ({1: {"seed": 1}, 2: {"seed": 2}}, "settable"),
    ],
)
async def test_per_job_values_name_the_same_settable_columns(
    db: Database, fields: dict[int, dict[str, object]], message: str
) -> None:
    await insert(db, new_job(), new_job())
    async with db.transaction() as tx:
        with pytest.raises(ValueError, match=message):
            await repo.transition_each(tx, fields, JobState.QUEUED, JobState.SUBMITTING, now=6.0)
        assert (
            await repo.transition_each(tx, {}, JobState.QUEUED, JobState.SUBMITTING, now=6.0) == []
        )
        with pytest.raises(IllegalTransition):
            await repo.transition_each(tx, {}, JobState.QUEUED, JobState.RUNNING, now=6.0)


async def test_progress_and_task_replacement_apply_only_to_running_jobs(db: Database) -> None:
    (job_id,) = await insert(db, new_job())
    async with db.transaction() as tx:
        assert (
            await repo.update_running(
                tx, job_id, now=6.0, progress=10, preview_url=None, queue_position=None
            )
            is None
        )
        await repo.transition(tx, job_id, JobState.QUEUED, JobState.SUBMITTING, now=6.0)
        await repo.transition(
            tx, job_id, JobState.SUBMITTING, JobState.RUNNING, now=6.0, provider_task_id="t1"
        )
        job = await repo.update_running(
            tx, job_id, now=7.0, progress=40, preview_url="https://p", queue_position=2
        )
        assert job is not None
        assert (job.progress, job.preview_url, job.queue_position) == (40, "https://p", 2)
        assert (
            await repo.replace_task(tx, job_id, old_task_id="other", new_task_id="t2", now=8.0)
            is None
        )
        job = await repo.replace_task(tx, job_id, old_task_id="t1", new_task_id="t2", now=8.0)
    assert job is not None
    assert (job.provider_task_id, job.progress, job.attempts) == ("t2", 0, 1)


async def test_counts_lists_and_recovery_reads(db: Database) -> None:
    ids = await insert(
        db,
        new_job(1, 10),
        new_job(1, 10, speed=SpeedMode.RELAX, cost=0),
        new_job(1, 20),
        new_job(2, 10),
    )
    async with db.transaction() as tx:
        await repo.transition(tx, ids[2], JobState.QUEUED, JobState.SUBMITTING, now=6.0)
        assert await repo.set_status_message(tx, ids[0], 77)
        assert not await repo.set_status_message(tx, 999, 77)
        assert await repo.count_waiting(tx, guild_id=1, user_id=10) == (2, 2)
        assert await repo.count_waiting(tx, guild_id=1, user_id=20) == (0, 2)
        mine = await repo.user_jobs(tx, guild_id=1, user_id=10, active_only=True, limit=20)
        counts = await repo.guild_counts(tx, guild_id=1)
        waiting = await repo.guild_waiting(tx, guild_id=1, limit=1)
        queued, in_flight = await repo.unfinished(tx)
        newer = await repo.queued_after(tx, ids[1])
        many = await repo.get_many(tx, [ids[3], ids[0], 999])
    assert [job.id for job in mine] == [ids[1], ids[0]]
    assert mine[1].status_message_id == 77
    assert counts == {
        (JobState.QUEUED, SpeedMode.FAST): 1,
        (JobState.QUEUED, SpeedMode.RELAX): 1,
        (JobState.SUBMITTING, SpeedMode.FAST): 1,
    }
    assert [job.id for job in waiting] == [ids[0]]
    assert queued == [
        (ids[0], 1, 10, SpeedMode.FAST, 1000),
        (ids[1], 1, 10, SpeedMode.RELAX, 1000),
        (ids[3], 2, 10, SpeedMode.FAST, 1000),
    ]
    assert [(job.id, job.state) for job in in_flight] == [(ids[2], JobState.SUBMITTING)]
    assert [job.id for job in newer] == [ids[3]]
    assert [job.id for job in many] == [ids[0], ids[3]]


async def test_the_active_child_of_a_button_is_found_until_it_ends(db: Database) -> None:
    (parent,) = await insert(db, new_job())
    upscale = {"kind": JobKind.UPSCALE, "parent_id": parent, "action": Action.UPSCALE}
    first, other = await insert(
        db, new_job(**upscale, action_index=1), new_job(**upscale, action_index=2)
    )

    async def child(index: int) -> int | None:
        async with db.transaction() as tx:
            found = await repo.active_child(
                tx, parent_id=parent, action=Action.UPSCALE, index=index
            )
        return None if found is None else found.id

    assert (await child(1), await child(2), await child(3)) == (first, other, None)
    async with db.transaction() as tx:
        await repo.transition(tx, first, JobState.QUEUED, JobState.CANCELLED, now=6.0)
    assert await child(1) is None
