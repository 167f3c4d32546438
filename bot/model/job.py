"""The job model: states and their legal transitions, kinds, the frozen ``Job`` record.

It lives below the store, the services and the Discord layer so that each of them can pass
it on without importing another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import TypeAdapter

from bot.errors import FailureKind, IllegalTransition
from bot.model.actions import Action, ProviderButton
from bot.model.compact import unpack
from bot.model.speed import SpeedMode


class JobState(StrEnum):
    """Where a job is in its life; every job ends in exactly one terminal state."""

    QUEUED = "queued"
    SUBMITTING = "submitting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """Whether the job will never change state again."""
        return self in TERMINAL_STATES

    @property
    def waiting(self) -> bool:
        """Whether the job has not reached the provider yet."""
        return self is JobState.QUEUED


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
ACTIVE_STATES = (JobState.QUEUED, JobState.SUBMITTING, JobState.RUNNING)

# submitting -> cancelled exists so a cancel that races the provider call still wins: the
# dispatcher's submitting -> running update then finds no row and cancels the provider task.
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.SUBMITTING, JobState.CANCELLED}),
    JobState.SUBMITTING: frozenset(
        {JobState.RUNNING, JobState.QUEUED, JobState.FAILED, JobState.CANCELLED}
    ),
    JobState.RUNNING: frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}


def check_transition(source: JobState, target: JobState) -> None:
    """Raise ``IllegalTransition`` unless the state machine allows ``source -> target``."""
    if target not in TRANSITIONS[source]:
        raise IllegalTransition(f"a job cannot go from {source} to {target}")


class JobKind(StrEnum):
    """What a job asks the provider for; the value is the cost-table key."""

    IMAGINE = "imagine"
    UPSCALE = "upscale"
    VARIATION = "variation"
    REROLL = "reroll"
    VARY = "vary"
    ZOOM = "zoom"
    PAN = "pan"
    UPSCALE_SUBTLE = "upscale_subtle"
    UPSCALE_CREATIVE = "upscale_creative"
    ENHANCE = "enhance"


_KIND_OF_ACTION: dict[Action, JobKind] = {
    Action.UPSCALE: JobKind.UPSCALE,
    Action.VARIATION: JobKind.VARIATION,
    Action.REROLL: JobKind.REROLL,
    Action.VARY_SUBTLE: JobKind.VARY,
    Action.VARY_STRONG: JobKind.VARY,
    Action.ZOOM_OUT_2X: JobKind.ZOOM,
    Action.ZOOM_OUT_1_5X: JobKind.ZOOM,
    Action.PAN_LEFT: JobKind.PAN,
    Action.PAN_RIGHT: JobKind.PAN,
    Action.PAN_UP: JobKind.PAN,
    Action.PAN_DOWN: JobKind.PAN,
    Action.UPSCALE_SUBTLE: JobKind.UPSCALE_SUBTLE,
    Action.UPSCALE_CREATIVE: JobKind.UPSCALE_CREATIVE,
    Action.ENHANCE: JobKind.ENHANCE,
}


def kind_of_action(action: Action) -> JobKind:
    """The job kind (and cost key) of a follow-up action."""
    return _KIND_OF_ACTION[action]


# pydantic-core reads and writes the buttons' JSON itself, without Python dicts in between.
_BUTTONS = TypeAdapter(tuple[ProviderButton, ...])
_EMPTY = "[]"


def encode_buttons(buttons: tuple[ProviderButton, ...]) -> str:
    """Buttons as the ``provider_buttons`` column stores them."""
    return _BUTTONS.dump_json(tuple(buttons)).decode()


def encode_urls(urls: tuple[str, ...]) -> str:
    """Image URLs as the ``result_urls`` column stores them."""
    return json.dumps(list(urls))


# The records below are plain frozen dataclasses, not pydantic models: every row the store
# returns becomes a Job (five per job's life), its values were checked on the way in, and a
# dataclass is built in a fraction of even pydantic's unvalidated model_construct. Its JSON
# columns are kept as stored and read on demand: most Jobs are built for an event or a state
# check that never looks at them.
@dataclass(frozen=True, slots=True)
class Job:
    """One job's stored record, as the services and the Discord layer see it."""

    id: int
    guild_id: int
    channel_id: int
    user_id: int
    kind: JobKind
    action: Action | None
    action_index: int
    parent_id: int | None
    prompt: str
    """The canonical prompt text, always with ``--seed``."""
    params_json: str | bytes
    """The parameters as stored (JSON, or packed by ``compact``); read them with ``params``."""
    seed: int
    seed_explicit: bool
    speed: SpeedMode
    cost: int
    """Millicredits reserved for this job (0 for relax)."""
    state: JobState
    provider_task_id: str | None
    buttons_json: str | bytes
    """The provider's buttons as stored; read them with ``provider_buttons``."""
    progress: int
    preview_url: str | None
    status_message_id: int | None
    result_message_id: int | None
    result_urls_json: str | bytes
    """The result images as stored; read them with ``result_urls``."""
    failure_kind: FailureKind | None
    failure_message: str | None
    queue_position: int | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    attempts: int

    @property
    def params(self) -> dict[str, Any]:
        """The job's parameters (a new dict each time: the record cannot be changed)."""
        # Unpacked here, on use: most reads of a job (transitions, the board) never look.
        params: dict[str, Any] = json.loads(unpack(self.params_json))
        return params

    @property
    def provider_buttons(self) -> tuple[ProviderButton, ...]:
        """The buttons the provider offered on the finished task."""
        if self.buttons_json == _EMPTY:  # every job until it succeeds
            return ()
        return _BUTTONS.validate_json(unpack(self.buttons_json))

    @property
    def result_urls(self) -> tuple[str, ...]:
        """The result images, one per picture (or the grid alone)."""
        if self.result_urls_json == _EMPTY:
            return ()
        return tuple(json.loads(unpack(self.result_urls_json)))


@dataclass(frozen=True, slots=True)
class QueueOverview:
    """A guild's queue at a glance, for ``/queue``."""

    guild_id: int
    waiting_by_speed: dict[SpeedMode, int]
    running_by_speed: dict[SpeedMode, int]
    waiting: tuple[Job, ...]
    """The guild's waiting jobs, oldest first (at most ``limit``)."""

    @property
    def total_waiting(self) -> int:
        """How many of the guild's jobs wait for a slot."""
        return sum(self.waiting_by_speed.values())

    @property
    def total_running(self) -> int:
        """How many of the guild's jobs are at the provider."""
        return sum(self.running_by_speed.values())
