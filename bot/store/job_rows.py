"""Rows of the ``jobs`` table: ``NewJob`` in, ``Job`` and the dispatcher's ``PendingJob`` out."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.errors import FailureKind
from bot.model import Action, Job, JobKind, JobState, SpeedMode, encode_buttons, encode_urls
from bot.model.compact import pack
from bot.store.database import Row, marks


@dataclass(frozen=True, slots=True, kw_only=True)
class NewJob:
    """What ``insert`` needs to create a queued job (built by the services, typed, unchecked)."""

    guild_id: int
    channel_id: int
    user_id: int
    kind: JobKind
    action: Action | None = None
    action_index: int = 0
    parent_id: int | None = None
    prompt: str
    params: dict[str, Any]
    seed: int
    seed_explicit: bool
    speed: SpeedMode
    cost: int
    weight: int
    """Scheduling weight: the job's cost at fast speed."""


INSERT_COLUMNS = (
    "guild_id, channel_id, user_id, kind, action, action_index, parent_id, prompt, params,"
    " seed, seed_explicit, speed, cost, weight, state, created_at, updated_at"
)
INSERT_ROW = f"({marks(INSERT_COLUMNS.count(',') + 1)})"


def insert_values(job: NewJob, now: float) -> tuple[Any, ...]:
    """A new job's row, in ``INSERT_COLUMNS`` order, queued at ``now``."""
    return (
        job.guild_id,
        job.channel_id,
        job.user_id,
        job.kind.value,
        job.action.value if job.action else None,
        job.action_index,
        job.parent_id,
        job.prompt,
        pack(json.dumps(job.params, sort_keys=True)),
        job.seed,
        int(job.seed_explicit),
        job.speed.value,
        job.cost,
        job.weight,
        JobState.QUEUED.value,
        now,
        now,
    )


@dataclass(frozen=True, slots=True)
class PendingJob:
    """The few columns the dispatcher keeps per unfinished job (small on purpose)."""

    id: int
    guild_id: int
    user_id: int
    speed: SpeedMode
    weight: int
    state: JobState
    provider_task_id: str | None
    progress: int
    started_at: float | None


def encode_column(column: str, value: Any) -> Any:
    """A value as its column stores it (packed JSON for the lists)."""
    if column == "provider_buttons":
        return pack(encode_buttons(value))
    if column == "result_urls":
        return pack(encode_urls(value))
    return value


# The columns a Job is read from, in the order job_from_row unpacks them: every query that
# makes Jobs selects (or returns) exactly these, never *, so the order cannot drift.
JOB_COLUMNS = (
    "id, guild_id, channel_id, user_id, kind, action, action_index, parent_id, prompt, params,"
    " seed, seed_explicit, speed, cost, state, provider_task_id, provider_buttons, progress,"
    " preview_url, status_message_id, result_message_id, result_urls, failure_kind,"
    " failure_message, queue_position, created_at, started_at, finished_at, attempts"
)

_NAMES = [name.strip() for name in JOB_COLUMNS.split(",")]

# Dictionary look-ups: calling an Enum class by value is ~10x slower, five times a row.
_KINDS = {kind.value: kind for kind in JobKind}
_ACTIONS = {action.value: action for action in Action}
_SPEEDS = {speed.value: speed for speed in SpeedMode}
_STATES = {state.value: state for state in JobState}
_FAILURES = {kind.value: kind for kind in FailureKind}

# The columns stored as something other than the record holds, by position in JOB_COLUMNS.
_CONVERT: list[tuple[int, Callable[[Any], Any]]] = [
    (_NAMES.index("kind"), _KINDS.__getitem__),
    (_NAMES.index("action"), lambda stored: _ACTIONS[stored] if stored else None),
    (_NAMES.index("seed_explicit"), bool),
    (_NAMES.index("speed"), _SPEEDS.__getitem__),
    (_NAMES.index("state"), _STATES.__getitem__),
    (_NAMES.index("failure_kind"), lambda stored: _FAILURES[stored] if stored else None),
    # params, provider_buttons and result_urls stay as stored: the record unpacks on use.
]


def job_from_row(row: Row) -> Job:
    """The ``Job`` model of one row selected with ``JOB_COLUMNS`` (fields in that order)."""
    values = list(row)
    for index, convert in _CONVERT:
        values[index] = convert(values[index])
    return Job(*values)


def pending_from_row(row: Row) -> PendingJob:
    """The ``PendingJob`` of a row selected with ``PENDING_COLUMNS``."""
    return PendingJob(
        id=row[0],
        guild_id=row[1],
        user_id=row[2],
        speed=SpeedMode(row[3]),
        weight=row[4],
        state=JobState(row[5]),
        provider_task_id=row[6],
        progress=row[7],
        started_at=row[8],
    )


WaitingJob = tuple[int, int, int, SpeedMode, int]
"""A queued job as the scheduler needs it: (id, guild id, user id, speed, weight).

A plain tuple: recovery may read a hundred thousand at once, and at that count a named
tuple's construction alone costs a tenth of a second.
"""


WAITING_COLUMNS = "id, guild_id, user_id, speed, weight"


def waiting_from_rows(rows: list[Row]) -> list[WaitingJob]:
    """The ``WaitingJob``s of rows selected with ``WAITING_COLUMNS``."""
    # One comprehension with local names: per row it is a tuple and a dict look-up, which at
    # 100k rows is a fraction of what building a PendingJob (two Enum calls) costs.
    speeds = _SPEEDS
    return [(row[0], row[1], row[2], speeds[row[3]], row[4]) for row in rows]


PENDING_COLUMNS = (
    "id, guild_id, user_id, speed, weight, state, provider_task_id, progress, started_at"
)
