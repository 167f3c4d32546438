"""The contract between the job dispatcher and an image provider.

Providers translate their own errors into ``bot.errors.ProviderError`` subclasses at this
boundary; nothing above it ever sees an httpx type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from bot.errors import FailureKind
from bot.model import Action, ProviderButton, SpeedMode

if TYPE_CHECKING:
    from bot.prompt import Prompt


class TaskStatus(StrEnum):
    """A provider task's status, as the midjourney-proxy protocol names them."""

    NOT_START = "NOT_START"
    SUBMITTED = "SUBMITTED"
    MODAL = "MODAL"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCEL = "CANCEL"

    @property
    def terminal(self) -> bool:
        """Whether the task will never change again."""
        return self in {TaskStatus.SUCCESS, TaskStatus.FAILURE, TaskStatus.CANCEL}


_SEED_FLAG = re.compile(r"(?<!\S)--seed\s+(\d+)(?!\S)")


def written_seed(prompt: str) -> int | None:
    """The ``--seed`` value written in a canonical prompt; None when it carries none."""
    match = _SEED_FLAG.search(prompt)
    return None if match is None else int(match[1])


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TaskState(_Frozen):
    """What the provider says about one task, in the bot's terms."""

    task_id: str
    status: TaskStatus
    progress: int = 0
    """0 to 100."""
    state: str | None = None
    """The ``state`` field echoed back: the bot's job id."""
    preview_url: str | None = None
    image_url: str | None = None
    image_urls: tuple[str, ...] = ()
    buttons: tuple[ProviderButton, ...] = ()
    failure_kind: FailureKind | None = None
    failure_message: str | None = None
    banned_word: str | None = None
    queue_position: int | None = None
    seed: str | None = None
    notes: tuple[str, ...] = ()
    """What the user should know about the result (a parameter the provider could not honour)."""

    @property
    def terminal(self) -> bool:
        """Whether the task will never change again."""
        return self.status.terminal


class ImagineRequest(_Frozen):
    """A new grid: ``prompt`` is the canonical text and always carries ``--seed``."""

    job_id: int
    prompt: str
    speed: SpeedMode = SpeedMode.FAST


class ActionRequest(_Frozen):
    """A follow-up on a parent task: upscale N, variation N, reroll, single-image actions."""

    job_id: int
    parent_task_id: str
    parent_buttons: tuple[ProviderButton, ...] = ()
    action: Action
    index: int = 0
    """1 to 4 for grid actions (U1..U4, V1..V4); 0 where no index applies."""
    speed: SpeedMode = SpeedMode.FAST
    prompt: str = ""
    """The child job's canonical prompt (with its ``--seed``): providers that render from
    the stored parameters (the local provider) rebuild the action from it."""


class Submission(_Frozen):
    """The provider accepted a request: track ``task_id`` from now on."""

    task_id: str
    queue_position: int | None = None
    existing: bool = False
    """True when the provider answered that this exact request already exists (code 21)."""


class DownloadedImage(_Frozen):
    """A result image, already within the size the caller asked for."""

    data: bytes
    content_type: str
    filename: str


class Capabilities(_Frozen):
    """What a provider supports, so the bot offers only what works."""

    custom_id_actions: bool = True
    """Actions through the parent's button ``customId`` (``/submit/action``)."""
    change_actions: bool = True
    """Grid actions through ``/submit/change`` (U, V, reroll by index)."""
    cancel: bool = False
    batch_status: bool = True
    webhook: bool = False
    max_in_flight: int | None = None
    """The most tasks worth handing over at once (None: ``provider.max_concurrency``). The
    bot's fair queue orders the rest, and a task waiting at the provider shows no progress."""


@runtime_checkable
class ImageProvider(Protocol):
    """An image provider the dispatcher can drive; see ``bot.providers.midjourney``."""

    @property
    def capabilities(self) -> Capabilities:
        """What this provider supports."""
        ...

    @property
    def suggested_poll_interval(self) -> float:
        """Seconds until the next ``fetch_many`` is worth making; 0 when it has no advice."""
        ...

    @property
    def circuit_open(self) -> bool:
        """Whether the provider is considered down, so no new job should be sent now."""
        ...

    async def submit_imagine(self, request: ImagineRequest) -> Submission:
        """Start a grid; raises ``ProviderError`` subclasses on refusal."""
        ...

    async def submit_action(self, request: ActionRequest) -> Submission:
        """Start a follow-up on a parent task; raises ``ProviderError`` on refusal."""
        ...

    async def fetch_many(self, task_ids: Sequence[str]) -> Mapping[str, TaskState]:
        """The state of many tasks at once; a task the provider forgot is absent."""
        ...

    async def find_by_state(self, state: str) -> TaskState | None:
        """The task whose ``state`` is this job id; None only when the provider has none.

        Raises ``ProviderError`` when it cannot tell: a job whose submit went unanswered
        is sent again only after a provable None.
        """
        ...

    async def cancel(self, task_id: str) -> bool:
        """Cancel a task where supported; False when the provider cannot."""
        ...

    async def result_image(self, task: TaskState, *, max_bytes: int) -> DownloadedImage:
        """The finished task's image as bytes, re-encoded if needed to fit within ``max_bytes``."""
        ...

    def preview_image(self, reference: str) -> DownloadedImage | None:
        """The bytes behind a ``preview_url`` that is not a web address; None when gone."""
        ...

    def check_prompt(self, prompt: Prompt) -> None:
        """Raise ``ProviderRejected`` for a prompt this provider cannot render (a version)."""
        ...

    async def aclose(self) -> None:
        """Release connections and stop background work."""
        ...
