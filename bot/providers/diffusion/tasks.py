"""The provider's record of one local task, and the ``TaskState`` the dispatcher reads."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import FailureKind
from bot.model import SINGLE_IMAGE_ACTIONS, Action, ProviderButton
from bot.providers.base import TaskState, TaskStatus
from bot.providers.diffusion.results import StoredRequest

PREVIEW_SCHEME = "local-preview:"
"""``preview_url`` of a local preview: not a web address, so Discord is sent the bytes."""

GRID_INDEXES = (1, 2, 3, 4)


def _button(action: Action, index: int = 0) -> ProviderButton:
    return ProviderButton(custom_id=f"local:{action.value}:{index}", action=action, index=index)


GRID_BUTTONS = (
    *(_button(Action.UPSCALE, i) for i in GRID_INDEXES),
    *(_button(Action.VARIATION, i) for i in GRID_INDEXES),
    _button(Action.REROLL),
)
SINGLE_IMAGE_BUTTONS = tuple(_button(action) for action in SINGLE_IMAGE_ACTIONS)


def buttons_for(image_count: int) -> tuple[ProviderButton, ...]:
    """What a local result offers: the grid's U, V and reroll, or every single-image action."""
    return SINGLE_IMAGE_BUTTONS if image_count == 1 else GRID_BUTTONS


@dataclass(eq=False)
class LocalTask:
    """One render the provider owns, from submission to its end."""

    task_id: str
    request: StoredRequest
    status: TaskStatus = TaskStatus.SUBMITTED
    progress: int = 0
    preview: bytes | None = None
    preview_count: int = 0
    image_count: int = 0
    notes: tuple[str, ...] = ()
    failure_kind: FailureKind | None = None
    failure_message: str | None = None
    queue_position: int | None = None
    cancel_requested: bool = False

    @property
    def terminal(self) -> bool:
        """Whether the task will never change again."""
        return self.status.terminal

    def succeed(self, image_count: int, notes: tuple[str, ...]) -> None:
        """The images are stored: the task is done."""
        self.status, self.progress, self.preview = TaskStatus.SUCCESS, 100, None
        self.image_count, self.notes = image_count, notes

    def fail(self, kind: FailureKind, message: str) -> None:
        """The task failed for good; the job is refunded by the dispatcher."""
        if self.terminal:
            return
        self.status, self.preview = TaskStatus.FAILURE, None
        self.failure_kind, self.failure_message = kind, message

    def cancel(self) -> None:
        """The task was stopped before it finished."""
        if self.terminal:
            return
        self.status, self.preview = TaskStatus.CANCEL, None

    def state(self) -> TaskState:
        """What the dispatcher sees of this task."""
        preview_url = None
        if self.preview is not None:
            # A new reference per preview: the board edits the message only when it changes.
            preview_url = f"{PREVIEW_SCHEME}{self.task_id}:{self.preview_count}"
        return TaskState(
            task_id=self.task_id,
            status=self.status,
            progress=self.progress,
            state=str(self.request.job_id),
            preview_url=preview_url,
            buttons=buttons_for(self.image_count) if self.status is TaskStatus.SUCCESS else (),
            failure_kind=self.failure_kind,
            failure_message=self.failure_message,
            queue_position=self.queue_position,
            notes=self.notes,
        )
