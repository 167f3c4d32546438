"""The hand-over of a finished task to whoever posts results (the Discord layer)."""

from __future__ import annotations

from typing import Protocol

from bot.model import Job
from bot.providers.base import TaskState


class DeliveryFailed(Exception):
    """The result could not be delivered; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class Deliverer(Protocol):
    """Posts a finished job's result; runs outside the provider slot."""

    async def deliver(self, job: Job, task: TaskState) -> int | None:
        """Post the result; the result message id (None when there is none to keep)."""
        ...

    async def retract(self, job: Job, message_id: int) -> None:
        """Take down a result just posted for a job cancelled while it was uploading."""
        ...
