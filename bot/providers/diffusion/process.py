"""The provider's side of the worker process: spawn it, talk to it, notice when it dies.

A reader thread waits on the pipe and the process sentinel together and hands every event
to the event loop, so the loop never blocks on the pipe; a process that dies (a crash, an
out-of-memory kill, ``kill -9``) is reported as ``Died`` at once rather than found by a
timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from bot.providers.diffusion import worker
from bot.providers.diffusion.messages import (
    STOP_EVERY_RENDER,
    Died,
    Preload,
    Ready,
    Render,
    RenderBatch,
    Shutdown,
    StartFailed,
    WorkerEvent,
    WorkerOptions,
)

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0
"""How long a worker may take to finish its render and exit before it is killed."""


class WorkerStartError(Exception):
    """The worker process could not start its renderer; the message says why."""


class WorkerProcess:
    """One spawned render process and the thread that listens to it."""

    def __init__(self, options: WorkerOptions, on_event: Callable[[WorkerEvent], None]) -> None:
        self._options = options
        self._on_event = on_event
        self._context = multiprocessing.get_context("spawn")
        # A plain shared integer: one writer (this process), one reader, no lock needed.
        self._cancel: Any = self._context.RawValue("q", 0)
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._reader: threading.Thread | None = None
        self._ready: asyncio.Future[Ready] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs."""
        return self._process.pid if self._process is not None else None

    async def start(self, *, within: float) -> Ready:
        """Spawn the process and wait until its renderer is up (torch imported)."""
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=worker.main,
            args=(theirs, self._cancel, self._options),
            name="tessera-render",
            daemon=True,
        )
        process.start()
        theirs.close()  # the child holds its end: EOF here then means the child is gone
        self._process, self._conn = process, ours
        self._reader = threading.Thread(
            target=self._listen, args=(loop, ours, process), name="render-events", daemon=True
        )
        self._reader.start()
        try:
            async with asyncio.timeout(within):
                return await self._ready
        except TimeoutError:
            await asyncio.shield(self.stop())
            raise WorkerStartError(
                f"The local renderer did not start within {within:g} seconds."
            ) from None
        except BaseException:
            # A start that failed or was cancelled (shutdown) leaves no process behind.
            await asyncio.shield(self.stop())
            raise

    async def send(self, message: Render | RenderBatch | Preload) -> None:
        """Hand the worker its next message, from a thread.

        The worker reads only between renders and loads: a large message (a job with its
        init images) could otherwise block the event loop until it does.
        """
        if self._conn is None:
            raise WorkerStartError("The local renderer is not running.")
        await asyncio.to_thread(self._conn.send, message)

    def cancel(self, seq: int) -> None:
        """Ask the worker to stop render ``seq`` at its next step."""
        self._cancel.value = seq

    async def stop(self) -> None:
        """Stop the render under way at its next step, then ask the worker to exit.

        A worker that does not exit within the grace period is killed.
        """
        self._stopping = True
        process, conn = self._process, self._conn
        if process is None or conn is None:
            return
        self._cancel.value = STOP_EVERY_RENDER
        with contextlib.suppress(OSError, ValueError):
            conn.send(Shutdown())
        await asyncio.to_thread(process.join, STOP_GRACE_SECONDS)
        if process.is_alive():
            process.kill()
            await asyncio.to_thread(process.join)
        if self._reader is not None:
            await asyncio.to_thread(self._reader.join)
        conn.close()
        process.close()
        self._process = self._conn = self._reader = None

    def _listen(
        self, loop: asyncio.AbstractEventLoop, conn: Connection, process: BaseProcess
    ) -> None:
        sentinel = process.sentinel
        while True:
            ready = wait([conn, sentinel])
            if conn in ready:
                try:
                    event = conn.recv()
                except (EOFError, OSError):
                    break
                self._deliver(loop, event)
                continue
            break  # the sentinel alone: the process ended with nothing left to read
        process.join()
        if not self._stopping:
            self._deliver(loop, Died(exitcode=process.exitcode))

    def _deliver(self, loop: asyncio.AbstractEventLoop, event: WorkerEvent) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening
            loop.call_soon_threadsafe(self._dispatch, event)

    def _dispatch(self, event: WorkerEvent) -> None:
        ready = self._ready
        if ready is not None and not ready.done():
            if isinstance(event, Ready):
                ready.set_result(event)
                return
            if isinstance(event, StartFailed | Died):
                message = (
                    event.message
                    if isinstance(event, StartFailed)
                    else f"The local renderer exited while starting (exit code {event.exitcode})."
                )
                ready.set_exception(WorkerStartError(message))
                return
        self._on_event(event)
