"""The worker process: owns the diffusion pipelines and renders one job at a time.

It is started with the ``spawn`` method (a fresh interpreter: CUDA cannot be forked) and
talks to the provider over one duplex pipe. Torch and diffusers are imported here, in the
child, never in the bot's own process. Cancellation arrives through a shared integer: the
``seq`` of the render to stop, read at every step.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Protocol

from bot.providers.diffusion.messages import (
    STOP_EVERY_RENDER,
    BatchDone,
    Cancelled,
    Done,
    Failed,
    Preload,
    Ready,
    Render,
    RenderBatch,
    Shutdown,
    StartFailed,
    Step,
    WorkerOptions,
)

if TYPE_CHECKING:
    from bot.providers.diffusion.engine import Renderer

log = logging.getLogger(__name__)


class SharedInt(Protocol):
    """A ``multiprocessing.Value('q')``: what the worker reads of the cancel flag."""

    value: int


def main(conn: Connection, cancel: SharedInt, options: WorkerOptions) -> None:
    """The worker process's entry point; returns when told to shut down or the pipe closes."""
    logging.basicConfig(level=options.log_level, format="%(levelname)s worker: %(message)s")
    renderer = _start(conn, options)
    if renderer is None:
        return
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return  # the bot is gone: nothing left to render for
        if isinstance(message, Shutdown):
            return
        if isinstance(message, Preload):
            _preload(renderer, message)
        elif isinstance(message, Render | RenderBatch):
            conn.send(
                _render(renderer, message, conn, cancel, preview_interval=options.preview_interval)
            )


def _start(conn: Connection, options: WorkerOptions) -> Renderer | None:
    try:
        from diffusers.utils import logging as diffusers_logging

        from bot.providers.diffusion.engine import Renderer
    except ImportError as exc:
        conn.send(
            StartFailed(
                f"The local renderer cannot start: {exc.name or exc} is not installed "
                "(install the local extra: pip install -e '.[local]')."
            )
        )
        return None
    try:
        renderer = Renderer(
            device=options.device,
            dtype=options.dtype,
            cache_dir=options.cache_dir,
            cpu_offload=options.cpu_offload,
            attention_slicing=options.attention_slicing,
            vae_tiling=options.vae_tiling,
            local_files_only=_offline(),
            threads=options.threads,
        )
    except (RuntimeError, ValueError) as exc:
        conn.send(StartFailed(f"The local renderer cannot use device {options.device}: {exc}"))
        return None
    # Loading bars and library chatter are for a terminal, not the bot's log.
    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    conn.send(Ready(device=renderer.device, dtype=renderer.dtype, pid=os.getpid()))
    return renderer


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _preload(renderer: Renderer, message: Preload) -> None:
    from bot.providers.diffusion.errors import DeviceOutOfMemory, WeightsUnavailable

    try:
        renderer.load(message.preset)
    except (WeightsUnavailable, DeviceOutOfMemory) as exc:
        # Said again, to the user, by the first render that needs this model.
        log.warning("%s", exc)


def _render(
    renderer: Renderer,
    message: Render | RenderBatch,
    conn: Connection,
    cancel: SharedInt,
    *,
    preview_interval: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
) -> Done | BatchDone | Failed | Cancelled:
    """Render one job or one batch; a cancel of the batch's ``seq`` stops all of it."""
    from bot.providers.diffusion.errors import (
        DeviceOutOfMemory,
        RenderCancelled,
        RenderFailed,
        WeightsUnavailable,
    )

    seq = message.seq
    last_preview = -math.inf

    def on_step(step: int, total: int, preview: bytes | None) -> None:
        nonlocal last_preview
        # Previews are throttled here, before the pipe: Discord shows one every few seconds.
        if preview is not None:
            now = clock()
            if now - last_preview < preview_interval:
                preview = None
            else:
                last_preview = now
        conn.send(Step(seq=seq, step=step, total=total, preview=preview))

    def should_stop() -> bool:
        return cancel.value in (seq, STOP_EVERY_RENDER)

    label = message.job.task_id if isinstance(message, Render) else "batch"
    try:
        if isinstance(message, RenderBatch):
            results = renderer.render_batch(message.jobs, on_step=on_step, should_stop=should_stop)
            return BatchDone(seq=seq, results=tuple(results))
        result = renderer.render(message.job, on_step=on_step, should_stop=should_stop)
    except RenderCancelled:
        return Cancelled(seq=seq)
    except DeviceOutOfMemory as exc:
        return Failed(seq=seq, reason="out_of_memory", message=str(exc))
    except WeightsUnavailable as exc:
        return Failed(seq=seq, reason="weights", message=str(exc))
    except RenderFailed as exc:
        return Failed(seq=seq, reason="error", message=str(exc))
    except Exception:
        # A bug or a library failure: logged here in full, one line for the user.
        log.exception("render %s failed", label)
        return Failed(seq=seq, reason="error", message="The renderer failed on this image.")
    return Done(seq=seq, result=result)
