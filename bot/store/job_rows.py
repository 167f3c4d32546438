"""Rows of the ``jobs`` table as models: the full ``Job`` and the dispatcher's ``PendingJob``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from bot.errors import FailureKind
from bot.providers.base import Action, ProviderButton
from bot.speed import SpeedMode
from bot.store.database import Row
from bot.store.job_models import Job, JobKind, JobState


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


# pydantic-core reads and writes the buttons' JSON itself, without Python dicts in between.
_BUTTONS = TypeAdapter(tuple[ProviderButton, ...])


def encode_column(column: str, value: Any) -> Any:
    """A value as its column stores it (JSON text for the lists)."""
    if column == "provider_buttons":
        return _BUTTONS.dump_json(tuple(value)).decode()
    if column == "result_urls":
        return json.dumps(list(value))
    return value


_EMPTY = "[]"


def _buttons(stored: str) -> tuple[ProviderButton, ...]:
    if stored == _EMPTY:  # every job until it succeeds
        return ()
    return _BUTTONS.validate_json(stored)


def job_from_row(row: Row) -> Job:
    """The ``Job`` model of one ``jobs`` row."""
    return Job(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        user_id=row["user_id"],
        kind=JobKind(row["kind"]),
        action=Action(row["action"]) if row["action"] else None,
        action_index=row["action_index"],
        parent_id=row["parent_id"],
        prompt=row["prompt"],
        params=json.loads(row["params"]),
        seed=row["seed"],
        seed_explicit=bool(row["seed_explicit"]),
        speed=SpeedMode(row["speed"]),
        cost=row["cost"],
        state=JobState(row["state"]),
        provider_task_id=row["provider_task_id"],
        provider_buttons=_buttons(row["provider_buttons"]),
        progress=row["progress"],
        preview_url=row["preview_url"],
        status_message_id=row["status_message_id"],
        result_message_id=row["result_message_id"],
        result_urls=() if row["result_urls"] == _EMPTY else tuple(json.loads(row["result_urls"])),
        failure_kind=FailureKind(row["failure_kind"]) if row["failure_kind"] else None,
        failure_message=row["failure_message"],
        queue_position=row["queue_position"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        attempts=row["attempts"],
    )


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


PENDING_COLUMNS = (
    "id, guild_id, user_id, speed, weight, state, provider_task_id, progress, started_at"
)
