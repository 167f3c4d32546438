"""Image providers: the ``ImageProvider`` protocol and its HTTP implementations (no discord)."""

from bot.providers.base import (
    Action,
    ActionRequest,
    Capabilities,
    DownloadedImage,
    ImageProvider,
    ImagineRequest,
    ProviderButton,
    Submission,
    TaskState,
    TaskStatus,
)

__all__ = [
    "Action",
    "ActionRequest",
    "Capabilities",
    "DownloadedImage",
    "ImageProvider",
    "ImagineRequest",
    "ProviderButton",
    "Submission",
    "TaskState",
    "TaskStatus",
]
