"""The messages between the provider and its worker process (picklable, no torch types)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.providers.diffusion.presets import ModelPreset
from bot.providers.diffusion.spec import RenderJob, RenderResult


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How the worker process sets up its renderer."""

    device: str = "auto"
    dtype: str = "auto"
    cache_dir: str | None = None
    cpu_offload: bool = False
    attention_slicing: bool = False
    vae_tiling: bool = False
    preview_interval: float = 1.0
    threads: int | None = None
    log_level: str = "INFO"


STOP_EVERY_RENDER = -1
"""The cancel flag's value that stops whatever renders (the worker is shutting down)."""

# Provider -> worker.


@dataclass(frozen=True, slots=True)
class Render:
    """Render this job; ``seq`` names it in every answer and in the cancel flag."""

    seq: int
    job: RenderJob


@dataclass(frozen=True, slots=True)
class RenderBatch:
    """Render these jobs (one ``batch_key``) in one pipeline call, answered as one ``seq``."""

    seq: int
    jobs: tuple[RenderJob, ...]


@dataclass(frozen=True, slots=True)
class Preload:
    """Load a preset's pipeline now, so the first render does not wait for it."""

    preset: ModelPreset


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Finish: the worker exits after answering nothing more."""


# Worker -> provider.


@dataclass(frozen=True, slots=True)
class Ready:
    """The renderer is up: torch imported, device chosen."""

    device: str
    dtype: str
    pid: int


@dataclass(frozen=True, slots=True)
class Step:
    """One denoising step of render ``seq`` is done; ``preview`` is a small PNG or None."""

    seq: int
    step: int
    total: int
    preview: bytes | None


@dataclass(frozen=True, slots=True)
class Done:
    """Render ``seq`` finished."""

    seq: int
    result: RenderResult


@dataclass(frozen=True, slots=True)
class BatchDone:
    """Batch ``seq`` finished: one result per job, in the order the jobs were sent."""

    seq: int
    results: tuple[RenderResult, ...]


@dataclass(frozen=True, slots=True)
class Failed:
    """Render ``seq`` failed; ``reason`` is ``out_of_memory``, ``weights`` or ``error``."""

    seq: int
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Cancelled:
    """Render ``seq`` stopped at a step because it was cancelled."""

    seq: int


@dataclass(frozen=True, slots=True)
class StartFailed:
    """The renderer could not start (torch missing, no such device); ``message`` says why."""

    message: str


@dataclass(frozen=True, slots=True)
class Died:
    """The worker process ended without being asked to (crash, killed, import failure)."""

    exitcode: int | None


WorkerEvent = Ready | Step | Done | BatchDone | Failed | Cancelled | StartFailed | Died
