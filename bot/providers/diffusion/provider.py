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
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import FailureKind, ProviderRejected, ProviderUnavailable
from bot.prompt import Prompt, PromptError, parse_canonical
from bot.providers.base import (
    ActionRequest,
    Capabilities,
    DownloadedImage,
    ImagineRequest,
    Submission,
    TaskState,
    TaskStatus,
)
from bot.providers.diffusion.catalog import preset_name
from bot.providers.diffusion.line import RenderLine, WorkerFactory
from bot.providers.diffusion.messages import Ready, WorkerOptions
from bot.providers.diffusion.planning import Planner
from bot.providers.diffusion.process import WorkerProcess
from bot.providers.diffusion.results import (
    ResultStore,
    StoredEnding,
    StoredRequest,
    StoredResult,
)
from bot.providers.diffusion.tasks import PREVIEW_SCHEME, LocalTask
from bot.providers.imaging import shrink_to_fit

if TYPE_CHECKING:
    from bot.settings import DiffusionSettings

log = logging.getLogger(__name__)

FetchImage = Callable[[str, int], Awaitable[bytes]]
"""Fetch a user's image URL through the outbound policy: ``(url, max_bytes) -> bytes``."""
Notify = Callable[[TaskState], Awaitable[None]]

PRUNE_INTERVAL_SECONDS = 6 * 3600.0
KEPT_FINISHED_TASKS = 512
"""Finished tasks kept in memory for polls; older ones are read back from disk."""


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
        options = WorkerOptions(
            device=settings.device,
            dtype=settings.dtype,
            cache_dir=settings.cache_dir,
            cpu_offload=settings.cpu_offload,
            attention_slicing=settings.attention_slicing,
            vae_tiling=settings.vae_tiling,
            preview_interval=settings.preview_interval,
            threads=settings.threads,
            log_level=log_level,
        )
        self._line = RenderLine(
            settings,
            options,
            self._planner,
            self._store,
            changed=self._push,
            worker_factory=worker_factory,
        )
        self._tasks: dict[str, LocalTask] = {}
        self._pushes: asyncio.Queue[TaskState] = asyncio.Queue()
        self._notify: Notify | None = None
        self._background: list[asyncio.Task[None]] = []
        self._closed = False

    # -- the ImageProvider protocol ---------------------------------------------------

    @property
    def capabilities(self) -> Capabilities:
        """Every action and cancel; one batch rendering and one task ready behind it."""
        # More in flight would only wait in this line, out of the fair queue's order, and
        # the watchdog would count that wait as a stall; fewer would leave nothing to batch.
        in_flight = self._settings.batch_jobs + 1
        return Capabilities(cancel=True, batch_status=True, webhook=False, max_in_flight=in_flight)

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
        try:
            prompt = parse_canonical(request.prompt)
        except PromptError as exc:
            # The bot's own canonical text: only a rule changed since it was stored fails here.
            raise ProviderRejected(exc.message, kind=FailureKind.INVALID_REQUEST) from exc
        self.check_prompt(prompt)
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
        self._line.cancel(task)
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
        """Stop the line and the worker; unfinished tasks render again after a restart."""
        self._closed = True
        background, self._background = self._background, []
        for task in background:
            task.cancel()
        try:
            for outcome in await asyncio.gather(*background, return_exceptions=True):
                if isinstance(outcome, Exception):
                    log.error("a render background task had failed", exc_info=outcome)
        finally:
            await self._line.aclose()

    # -- wiring -------------------------------------------------------------------------

    def use_notify(self, notify: Notify) -> None:
        """Push every task change to ``notify`` (the dispatcher), besides answering polls."""
        self._notify = notify

    def start(self) -> None:
        """Start the worker in the background and pre-load the default model."""
        if self._background or self._closed:
            return
        self._background = [
            asyncio.create_task(self._line.run(), name="render-line"),
            asyncio.create_task(self._push_all(), name="render-pushes"),
            asyncio.create_task(self._prune_regularly(), name="render-prune"),
        ]

    async def wait_idle(self) -> None:
        """Return once no task waits or renders (tests and benchmarks; never the bot)."""
        await self._line.wait_idle()

    @property
    def ready(self) -> Ready | None:
        """The worker's device and dtype, once it has started."""
        return self._line.ready

    @property
    def worker_pid(self) -> int | None:
        """The worker process's id while it runs (tests kill it to check recovery)."""
        return self._line.worker_pid

    # -- the line and the worker ------------------------------------------------------------

    async def _queue(self, request: StoredRequest) -> Submission:
        if self._closed:
            raise ProviderUnavailable("The local renderer is shutting down; try again soon.")
        task_id = f"{request.job_id}-{secrets.token_hex(4)}"
        await asyncio.to_thread(self._store.save_request, task_id, request)
        task = LocalTask(task_id=task_id, request=request)
        self._adopt(task)
        return Submission(task_id=task_id, queue_position=task.queue_position)

    def _adopt(self, task: LocalTask) -> None:
        if task.task_id in self._tasks:
            return  # read back twice by concurrent polls: one line entry is enough
        self._tasks[task.task_id] = task
        if not task.terminal:
            self._line.add(task)
            self.start()
        self._forget_old()

    def _forget_old(self) -> None:
        finished = [task_id for task_id, task in self._tasks.items() if task.terminal]
        for task_id in finished[: max(0, len(finished) - KEPT_FINISHED_TASKS)]:
            del self._tasks[task_id]

    def _push(self, task: LocalTask) -> None:
        self._pushes.put_nowait(task.state())

    async def _push_all(self) -> None:
        while True:
            state = await self._pushes.get()
            if state.terminal and state.status is not TaskStatus.SUCCESS:
                await self._record_ending(state)
            if self._notify is not None:
                try:
                    await self._notify(state)
                except Exception:
                    # The poll brings the same state a moment later.
                    log.exception("could not apply a pushed render state")

    async def _record_ending(self, state: TaskState) -> None:
        ending = StoredEnding(
            cancelled=state.status is TaskStatus.CANCEL,
            failure_kind=state.failure_kind.value if state.failure_kind else None,
            failure_message=state.failure_message,
        )
        try:
            await asyncio.to_thread(self._store.save_ending, state.task_id, ending)
        except OSError:
            log.exception("could not record how task %s ended", state.task_id)

    async def _prune_regularly(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self._store.prune)
            except OSError:
                log.exception("could not remove expired results; trying again later")
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
                ending = self._store.ending(task_id)
            except ValueError:
                continue
            if request is None:
                continue
            task = LocalTask(task_id=task_id, request=request)
            if stored is not None:
                task.succeed(stored.count, stored.notes)
            elif ending is not None and ending.cancelled:
                task.cancel()
            elif ending is not None:
                kind = FailureKind(ending.failure_kind or FailureKind.PROVIDER_ERROR.value)
                task.fail(kind, ending.failure_message or "The render failed.")
            else:
                log.info("rendering task %s again: it was unfinished at the last stop", task_id)
            found.append(task)
        return found
