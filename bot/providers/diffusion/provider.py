"""``DiffusionProvider``: the ``ImageProvider`` that renders on this machine.

Jobs wait in the provider's own line and go to the worker process one at a time (one
render per device); the worker's events update the task records that ``fetch_many``
reads, and every change is also pushed to the dispatcher so a result is posted at once.
A request is written to disk before it renders, so a restart renders it again rather than
losing it; a crash or an out-of-memory fails only the render it hit (the dispatcher
refunds it) and the next render starts a fresh worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import FailureKind, ProviderError, UserFacingError
from bot.prompt import Prompt, parse_canonical
from bot.providers.base import (
    ActionRequest,
    Capabilities,
    DownloadedImage,
    ImagineRequest,
    Submission,
    TaskState,
    TaskStatus,
)
from bot.providers.diffusion.catalog import preset_name, presets_for
from bot.providers.diffusion.messages import (
    Cancelled,
    Died,
    Done,
    Failed,
    Preload,
    Ready,
    Render,
    Step,
    WorkerEvent,
    WorkerOptions,
)
from bot.providers.diffusion.planning import Planner
from bot.providers.diffusion.process import WorkerProcess, WorkerStartError
from bot.providers.diffusion.results import ResultStore, StoredRequest, StoredResult
from bot.providers.diffusion.tasks import PREVIEW_SCHEME, LocalTask
from bot.providers.imaging import shrink_to_fit

if TYPE_CHECKING:
    from bot.providers.diffusion.presets import ModelPreset
    from bot.settings import DiffusionSettings

log = logging.getLogger(__name__)

FetchImage = Callable[[str, int], Awaitable[bytes]]
"""Fetch a user's image URL through the outbound policy: ``(url, max_bytes) -> bytes``."""
Notify = Callable[[TaskState], Awaitable[None]]
WorkerFactory = Callable[[WorkerOptions, Callable[[WorkerEvent], None]], WorkerProcess]

PRUNE_INTERVAL_SECONDS = 6 * 3600.0
KEPT_FINISHED_TASKS = 512
"""Finished tasks kept in memory for polls; older ones are read back from disk."""
_Outcome = Done | Failed | Cancelled | Died
PLAN_FAILED = "Something went wrong preparing this image; nothing was charged."
STORE_FAILED = (
    "The image was made but could not be stored (is the disk full?); nothing was charged."
)


class DiffusionProvider:
    """Renders with diffusers in a worker process; see the module docstring."""

    def __init__(
        self,
        settings: DiffusionSettings,
        *,
        fetch_image: FetchImage,
        log_level: str = "INFO",
        worker_factory: WorkerFactory = WorkerProcess,
    ) -> None:
        self._settings = settings
        self._store = ResultStore(
            Path(settings.results_dir),
            retention_seconds=settings.result_retention_days * 86400,
        )
        self._planner = Planner(self._store, settings, fetch_image)
        self._options = WorkerOptions(
            device=settings.device,
            dtype=settings.dtype,
            cache_dir=settings.cache_dir,
            cpu_offload=settings.cpu_offload,
            attention_slicing=settings.attention_slicing,
            vae_tiling=settings.vae_tiling,
            preview_interval=settings.preview_interval,
            log_level=log_level,
        )
        self._worker_factory = worker_factory
        self._tasks: dict[str, LocalTask] = {}
        self._waiting: deque[LocalTask] = deque()
        self._arrived = asyncio.Event()
        self._outcomes: asyncio.Queue[tuple[int, _Outcome]] = asyncio.Queue()
        self._pushes: asyncio.Queue[TaskState] = asyncio.Queue()
        self._seq = itertools.count(1)
        self._running: tuple[int, LocalTask] | None = None
        self._worker: WorkerProcess | None = None
        self._worker_alive = False
        self.ready: Ready | None = None
        """The running worker's device and dtype, once it has started."""
        self._presets: dict[str, ModelPreset] | None = None
        self._notify: Notify | None = None
        self._background: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()

    # -- the ImageProvider protocol ---------------------------------------------------

    @property
    def capabilities(self) -> Capabilities:
        """Every action, cancel, and no webhook (pushes are in-process)."""
        return Capabilities(cancel=True, batch_status=True, webhook=False)

    @property
    def suggested_poll_interval(self) -> float:
        """Polls are a fallback: every change is pushed as it happens."""
        return 0.0

    @property
    def circuit_open(self) -> bool:
        """Never: a renderer that cannot start fails each job with the reason, refunded."""
        return False

    def check_prompt(self, prompt: Prompt) -> None:
        """Refuse a version this server has no model for, naming those it has."""
        preset_name(prompt, self._settings)

    async def submit_imagine(self, request: ImagineRequest) -> Submission:
        """Queue a new grid (or a reroll, which is a grid with its new seed)."""
        self.check_prompt(parse_canonical(request.prompt))
        return await self._queue(StoredRequest(job_id=request.job_id, prompt=request.prompt))

    async def submit_action(self, request: ActionRequest) -> Submission:
        """Queue a button's action on a finished local task."""
        stored = await asyncio.to_thread(self._stored_result, request.parent_task_id)
        if stored is None:
            raise self._planner.expired()
        return await self._queue(
            StoredRequest(
                job_id=request.job_id,
                prompt=request.prompt,
                action=request.action.value,
                index=request.index,
                parent_task_id=request.parent_task_id,
            )
        )

    async def fetch_many(self, task_ids: Sequence[str]) -> Mapping[str, TaskState]:
        """Every task's state; tasks not in memory are read back from disk (after a restart)."""
        unknown = [task_id for task_id in task_ids if task_id not in self._tasks]
        if unknown:
            for task in await asyncio.to_thread(self._read_back, unknown):
                self._adopt(task)
        return {
            task_id: self._tasks[task_id].state() for task_id in task_ids if task_id in self._tasks
        }

    async def find_by_state(self, state: str) -> TaskState | None:
        """The newest task of a job (recovery after a crash between submit and commit)."""
        if not state.isdigit():
            return None
        job_id = int(state)
        mine = [task for task in self._tasks.values() if task.request.job_id == job_id]
        if mine:
            return mine[-1].state()
        task_ids = await asyncio.to_thread(self._store.tasks_of_job, job_id)
        if not task_ids:
            return None
        found = await self.fetch_many(task_ids[-1:])
        return found.get(task_ids[-1])

    async def cancel(self, task_id: str) -> bool:
        """Drop a waiting task, or stop the running one at its next step."""
        task = self._tasks.get(task_id)
        if task is None or task.terminal:
            return False
        if task in self._waiting:
            self._waiting.remove(task)
            task.cancel()
            self._push(task)
            self._renumber()
            return True
        task.cancel_requested = True
        if self._running is not None and self._running[1] is task and self._worker is not None:
            self._worker.cancel(self._running[0])
        return True

    async def result_image(self, task: TaskState, *, max_bytes: int) -> DownloadedImage:
        """The grid (or single image) from disk, re-encoded if above ``max_bytes``."""
        data = await asyncio.to_thread(self._grid, task.task_id)
        if data is None:
            raise self._planner.expired()
        if len(data) <= max_bytes:
            return DownloadedImage(
                data=data, content_type="image/png", filename=f"{task.task_id}.png"
            )
        smaller = await asyncio.to_thread(shrink_to_fit, data, max_bytes)
        return DownloadedImage(
            data=smaller, content_type="image/jpeg", filename=f"{task.task_id}.jpg"
        )

    def preview_image(self, reference: str) -> DownloadedImage | None:
        """The current preview of a running task, for the status message."""
        task_id = reference.removeprefix(PREVIEW_SCHEME).rpartition(":")[0]
        task = self._tasks.get(task_id)
        if task is None or task.preview is None:
            return None
        return DownloadedImage(data=task.preview, content_type="image/png", filename="preview.png")

    async def aclose(self) -> None:
        """Stop the feeder and the worker; unfinished tasks render again after a restart."""
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._background.clear()
        if self._worker is not None:
            await self._worker.stop()
            self._worker = None

    # -- wiring -------------------------------------------------------------------------

    def use_notify(self, notify: Notify) -> None:
        """Push every task change to ``notify`` (the dispatcher), besides answering polls."""
        self._notify = notify

    def start(self) -> None:
        """Start the worker in the background and pre-load the default model."""
        if self._background:
            return
        self._background = [
            asyncio.create_task(self._feed(), name="render-feeder"),
            asyncio.create_task(self._push_all(), name="render-pushes"),
            asyncio.create_task(self._prune_regularly(), name="render-prune"),
        ]

    async def wait_idle(self) -> None:
        """Return once no task waits or renders (tests and benchmarks; never the bot)."""
        await self._idle.wait()

    @property
    def worker_pid(self) -> int | None:
        """The worker process's id while it runs (tests kill it to check recovery)."""
        return self._worker.pid if self._worker is not None else None

    # -- the line and the worker ------------------------------------------------------------

    async def _queue(self, request: StoredRequest) -> Submission:
        task_id = f"{request.job_id}-{secrets.token_hex(4)}"
        await asyncio.to_thread(self._store.save_request, task_id, request)
        task = LocalTask(task_id=task_id, request=request)
        self._adopt(task)
        return Submission(task_id=task_id, queue_position=task.queue_position)

    def _adopt(self, task: LocalTask) -> None:
        self._tasks[task.task_id] = task
        if not task.terminal:
            self._waiting.append(task)
            self._renumber()
            self._idle.clear()
            self._arrived.set()
            self.start()
        self._forget_old()

    def _renumber(self) -> None:
        for position, task in enumerate(self._waiting, start=1):
            task.queue_position = position

    def _forget_old(self) -> None:
        finished = [task_id for task_id, task in self._tasks.items() if task.terminal]
        for task_id in finished[: max(0, len(finished) - KEPT_FINISHED_TASKS)]:
            del self._tasks[task_id]

    async def _feed(self) -> None:
        with contextlib.suppress(WorkerStartError):
            await self._warm_up()
        while True:
            while not self._waiting:
                self._idle.set()
                self._arrived.clear()
                await self._arrived.wait()
            task = self._waiting.popleft()
            self._renumber()
            await self._render(task)

    async def _warm_up(self) -> None:
        try:
            await self._worker_ready()
        except WorkerStartError as exc:
            log.warning("%s", exc)
            raise
        default = self._presets_now().get(self._settings.versions.get("7", ""), None)
        if default is not None and self._worker is not None:
            self._worker.send(Preload(default))

    async def _render(self, task: LocalTask) -> None:
        try:
            worker = await self._worker_ready()
            job, notes = await self._planner.plan(task, self._presets_now())
        except WorkerStartError as exc:
            task.fail(FailureKind.UNAVAILABLE, str(exc))
            self._push(task)
            return
        except UserFacingError as exc:
            kind = exc.kind if isinstance(exc, ProviderError) else FailureKind.INVALID_REQUEST
            task.fail(kind, exc.message)
            self._push(task)
            return
        except Exception:
            # A bug must cost one job, not the feeder: the next job renders as usual.
            log.exception("could not plan task %s", task.task_id)
            task.fail(FailureKind.PROVIDER_ERROR, PLAN_FAILED)
            self._push(task)
            return
        if task.cancel_requested:
            task.cancel()
            self._push(task)
            return
        seq = next(self._seq)
        self._running = (seq, task)
        task.status, task.queue_position, task.notes = TaskStatus.IN_PROGRESS, None, notes
        self._push(task)
        try:
            worker.send(Render(seq=seq, job=job))
            outcome = await self._outcome_of(seq)
        except OSError:
            # The pipe broke: the worker died as the job was handed over.
            outcome = Died(exitcode=None)
        finally:
            self._running = None
        try:
            await self._settle(task, outcome)
        except OSError:
            log.exception("could not store the images of task %s", task.task_id)
            task.fail(FailureKind.PROVIDER_ERROR, STORE_FAILED)
        self._push(task)

    async def _outcome_of(self, seq: int) -> _Outcome:
        while True:
            for_seq, outcome = await self._outcomes.get()
            if for_seq == seq:
                return outcome

    async def _settle(self, task: LocalTask, outcome: _Outcome) -> None:
        """End the task as the worker's answer says (the caller pushes the new state)."""
        if isinstance(outcome, Done) and not task.cancel_requested:
            result = outcome.result
            notes = (*task.notes, *result.notes)
            stored = StoredResult(
                width=result.width,
                height=result.height,
                count=len(result.images),
                steps_run=result.steps_run,
                notes=notes,
            )
            await asyncio.to_thread(
                self._store.save_result, task.task_id, list(result.images), stored
            )
            task.succeed(len(result.images), notes)
        elif isinstance(outcome, Done | Cancelled):
            task.cancel()
        elif isinstance(outcome, Failed):
            if outcome.reason == "out_of_memory":
                # Memory after an OOM is fragmented: the next render gets a fresh process.
                await self._retire_worker()
            task.fail(FailureKind.PROVIDER_ERROR, outcome.message)
        else:
            await self._retire_worker()
            task.fail(
                FailureKind.PROVIDER_ERROR,
                f"The renderer stopped unexpectedly (exit code {outcome.exitcode}) while making "
                "this image; nothing was charged and the renderer restarts.",
            )

    async def _worker_ready(self) -> WorkerProcess:
        if self._worker is not None and self._worker_alive:
            return self._worker
        await self._retire_worker()
        worker = self._worker_factory(self._options, self._on_event)
        self.ready = await worker.start(within=self._settings.start_timeout)
        log.info("local renderer ready on %s (%s)", self.ready.device, self.ready.dtype)
        self._worker, self._worker_alive = worker, True
        return worker

    async def _retire_worker(self) -> None:
        worker, self._worker, self._worker_alive = self._worker, None, False
        if worker is not None:
            await worker.stop()

    def _presets_now(self) -> dict[str, ModelPreset]:
        if self._presets is None:
            gpu = self.ready is not None and self.ready.device != "cpu"
            self._presets = presets_for(self._settings, gpu=gpu)
        return self._presets

    def _on_event(self, event: WorkerEvent) -> None:
        running = self._running
        if isinstance(event, Died):
            self._worker_alive = False
            if running is not None:
                self._outcomes.put_nowait((running[0], event))
            return
        if running is None or getattr(event, "seq", None) != running[0]:
            return  # an answer about a render that already ended
        task = running[1]
        if isinstance(event, Step):
            task.progress = min(99, event.step * 100 // max(1, event.total))
            if event.preview is not None:
                task.preview, task.preview_count = event.preview, task.preview_count + 1
            self._push(task)
        elif isinstance(event, Done | Failed | Cancelled):
            self._outcomes.put_nowait((event.seq, event))

    def _push(self, task: LocalTask) -> None:
        if self._notify is not None:
            self._pushes.put_nowait(task.state())

    async def _push_all(self) -> None:
        while True:
            state = await self._pushes.get()
            if self._notify is not None:
                try:
                    await self._notify(state)
                except Exception:
                    # The poll brings the same state a moment later.
                    log.exception("could not apply a pushed render state")

    async def _prune_regularly(self) -> None:
        while True:
            await asyncio.to_thread(self._store.prune)
            await asyncio.sleep(PRUNE_INTERVAL_SECONDS)

    # -- the disk -----------------------------------------------------------------------

    def _stored_result(self, task_id: str) -> StoredResult | None:
        try:
            return self._store.result(task_id)
        except ValueError:
            return None  # not a local task id (a job from another provider)

    def _grid(self, task_id: str) -> bytes | None:
        try:
            return self._store.grid(task_id)
        except ValueError:
            return None

    def _read_back(self, task_ids: list[str]) -> list[LocalTask]:
        found = []
        for task_id in task_ids:
            try:
                request = self._store.request(task_id)
                stored = self._store.result(task_id)
            except ValueError:
                continue
            if request is None:
                continue
            task = LocalTask(task_id=task_id, request=request)
            if stored is not None:
                task.succeed(stored.count, stored.notes)
            else:
                log.info("rendering task %s again: it was unfinished at the last stop", task_id)
            found.append(task)
        return found
