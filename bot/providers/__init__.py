"""Image providers: the ``ImageProvider`` protocol and its HTTP implementations (no discord)."""

from bot.providers.base import (
    ActionRequest,
    Capabilities,
    DownloadedImage,
    ImageProvider,
    ImagineRequest,
    Submission,
    TaskState,
    TaskStatus,
)

__all__ = [
    "ActionRequest",
    "Capabilities",
    "DownloadedImage",
    "ImageProvider",
    "ImagineRequest",
    "Submission",
    "TaskState",
    "TaskStatus",
]
