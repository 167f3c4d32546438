"""Which jobs may share one pipeline call (``diffusion.batch_jobs``); torch-free.

Jobs batch together when one call renders each exactly as it would alone: the same model,
size, schedule, guidance and ``--tile`` (module state for the length of a call), noise from
text, and no ``--sref`` (an IP-Adapter's scale is one per call).
"""

from __future__ import annotations

from bot.providers.diffusion.presets import ModelPreset
from bot.providers.diffusion.spec import RenderJob, RenderMode

BatchKey = tuple[ModelPreset, int, int, int, float, float, bool]
"""The preset, width, height, steps, guidance, ``--stop`` fraction and ``--tile`` shared."""


def batch_key(job: RenderJob) -> BatchKey | None:
    """What ``job`` must share with others to render in one call; None: it renders alone."""
    if job.mode is not RenderMode.TEXT or job.style_images:
        return None
    return (job.preset, job.width, job.height, job.steps, job.guidance, job.stop_at, job.tile)
