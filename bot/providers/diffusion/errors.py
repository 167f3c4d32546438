"""What the render engine raises, as plain picklable exceptions (no torch types).

They cross the process boundary from the worker, so each keeps its message as its only
argument; the provider maps them to ``bot.errors.ProviderError`` subclasses.

    RenderError
    ├── RenderCancelled       ``should_stop`` asked for it; nothing to show
    ├── DeviceOutOfMemory     the device ran out of memory; ``message`` suggests a smaller job
    ├── WeightsUnavailable    the model is not on this machine; ``message`` says how to get it
    └── RenderFailed          anything else the user should see
"""

from __future__ import annotations


class RenderError(Exception):
    """Base of the engine's errors; ``message`` is safe to show."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class RenderCancelled(RenderError):
    """The render was stopped because ``should_stop()`` returned true."""


class DeviceOutOfMemory(RenderError):
    """The GPU (or host) ran out of memory during the render."""


class WeightsUnavailable(RenderError):
    """The model's weights are not available locally (and may not be downloaded)."""


class RenderFailed(RenderError):
    """The render failed for another reason the user should hear about."""
