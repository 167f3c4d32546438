"""The render line: tasks wait here and go to the worker process one at a time.

One render per device: the line owns the worker process, starts it (and starts a fresh one
after a crash or an out-of-memory error), plans each task just before it renders, and ends
each task as the worker answers. Every change of a task is handed to ``changed`` (the
provider pushes it to the dispatcher).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.errors import FailureKind, ProviderError, UserFacingError
from bot.prompt import DEFAULT_VERSION
from bot.providers.base import TaskStatus
from bot.providers.diffusion.batching import batch_key
from bot.providers.diffusion.catalog import presets_for
from bot.providers.diffusion.messages import (
    BatchDone,
    Cancelled,
    Died,
    Done,
    Failed,
    Preload,
    Ready,
    Render,
    RenderBatch,
    Step,
    WorkerEvent,
    WorkerOptions,
)
from bot.providers.diffusion.planning import Planner
from bot.providers.diffusion.process import WorkerProcess, WorkerStartError
from bot.providers.diffusion.results import ResultStore, StoredResult
from bot.providers.diffusion.tasks import LocalTask

if TYPE_CHECKING:
    from bot.providers.diffusion.presets import ModelPreset
    from bot.providers.diffusion.spec import RenderJob, RenderResult
    from bot.settings import DiffusionSettings

log = logging.getLogger(__name__)

WorkerFactory = Callable[[WorkerOptions, Callable[[WorkerEvent], None]], WorkerProcess]
_Outcome = Done | BatchDone | Failed | Cancelled | Died
_Planned = tuple["RenderJob", tuple[str, ...]]
PLAN_FAILED = "Something went wrong preparing this image; nothing was charged."
STORE_FAILED = (
    "The image was made but could not be stored (is the disk full?); nothing was charged."
)


class RenderLine:
    """Waiting tasks, the one rendering, and the worker process that renders it."""

    def __init__(
        self,
        settings: DiffusionSettings,
        options: WorkerOptions,
        planner: Planner,
        store: ResultStore,
        *,
        changed: Callable[[LocalTask], None],
        worker_factory: WorkerFactory = WorkerProcess,
    ) -> None:
        self._settings = settings
        self._options = options
        self._planner = planner
        self._store = store
        self._push = changed
        self._worker_factory = worker_factory
        self._waiting: deque[LocalTask] = deque()
        self._arrived = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._storing: set[asyncio.Task[None]] = set()
        """Finished renders whose images are being written."""
        self._outcomes: asyncio.Queue[tuple[int, _Outcome]] = asyncio.Queue()
        self._seq = itertools.count(1)
        self._running: tuple[int, tuple[LocalTask, ...]] | None = None
        self._plans: dict[LocalTask, _Planned] = {}
        """Waiting tasks already planned while a batch was formed."""
        self._worker: WorkerProcess | None = None
        self._worker_alive = False
        self.ready: Ready | None = None
        """The running worker's device and dtype, once it has started."""
        self._presets: dict[str, ModelPreset] | None = None

    @property
    def worker_pid(self) -> int | None:
        """The worker process's id while it runs."""
        return self._worker.pid if self._worker is not None else None

    def add(self, task: LocalTask) -> None:
        """Put a task at the end of the line."""
        self._waiting.append(task)
        self._renumber()
        self._idle.clear()
        self._arrived.set()

    def cancel(self, task: LocalTask) -> None:
        """Drop a waiting task at once, or stop the running one at its next step."""
        if task in self._waiting:
            self._waiting.remove(task)
            self._plans.pop(task, None)
            task.cancel()
            self._push(task)
            self._renumber()
            return
        task.cancel_requested = True
        if self._running is not None and task in self._running[1] and self._worker is not None:
            self._worker.cancel(self._running[0])

    async def wait_idle(self) -> None:
        """Return once no task waits or renders."""
        await self._idle.wait()

    async def run(self) -> None:
        """Start the worker, pre-load the default model, then render the line forever."""
        await self._feed()

    async def aclose(self) -> None:
        """Let finished images reach the disk, then stop the worker (after ``run`` ends)."""
        await asyncio.gather(*self._storing, return_exceptions=True)
        await self._retire_worker()

    def _renumber(self) -> None:
        for position, task in enumerate(self._waiting, start=1):
            task.queue_position = position

    async def _feed(self) -> None:
        try:
            await self._warm_up()
        except Exception as exc:
            # Said again, to the user, by the first job that needs the renderer.
            log.warning("the local renderer did not start: %s", exc)
        while True:
            while not self._waiting:
                if not self._storing:
                    self._idle.set()
                self._arrived.clear()
                await self._arrived.wait()
            task = self._waiting.popleft()
            self._renumber()
            try:
                await self._render(task)
            except Exception:
                # A bug must cost one job, never the line: the next job renders as usual.
                log.exception("render of task %s failed", task.task_id)
                self._fail(task, FailureKind.PROVIDER_ERROR, PLAN_FAILED)

    async def _warm_up(self) -> None:
        worker = await self._worker_ready()
        default = self._presets_now().get(self._settings.versions.get(DEFAULT_VERSION, ""))
        if default is not None:
            await worker.send(Preload(default))

    def _fail(self, task: LocalTask, kind: FailureKind, message: str) -> None:
        if task.cancel_requested:
            task.cancel()  # cancelled while it was being prepared: that is the ending
        else:
            task.fail(kind, message)
        self._push(task)

    async def _render(self, task: LocalTask) -> None:
        batch: list[tuple[LocalTask, RenderJob, tuple[str, ...]]] = []
        try:
            await self._worker_ready()  # the device decides the presets
            planned = self._plans.pop(task, None)
            job, notes = planned if planned is not None else await self._plan(task)
            batch = [(task, job, notes)]
            if self._settings.batch_jobs > 1:
                batch += await self._companions(job)
            worker = await self._worker_ready()  # again: it may have died meanwhile
        except WorkerStartError as exc:
            # Companions already taken out of the line end with the head, not silently.
            for member in [entry[0] for entry in batch] or [task]:
                self._fail(member, FailureKind.UNAVAILABLE, str(exc))
            return
        except UserFacingError as exc:
            kind = exc.kind if isinstance(exc, ProviderError) else FailureKind.INVALID_REQUEST
            self._fail(task, kind, exc.message)
            return
        for ended in [entry for entry in batch if entry[0].cancel_requested]:
            batch.remove(ended)
            ended[0].cancel()
            self._push(ended[0])
        if not batch:
            return
        seq = next(self._seq)
        tasks = tuple(entry[0] for entry in batch)
        self._running = (seq, tasks)
        for member, _, member_notes in batch:
            member.status, member.queue_position, member.notes = (
                TaskStatus.IN_PROGRESS,
                None,
                member_notes,
            )
            self._push(member)
        message = (
            Render(seq=seq, job=batch[0][1])
            if len(batch) == 1
            else RenderBatch(seq=seq, jobs=tuple(entry[1] for entry in batch))
        )
        try:
            await worker.send(message)
            outcome = await self._outcome_of(seq)
        except OSError:
            # The pipe broke: the worker died as the job was handed over.
            outcome = Died(exitcode=None)
        finally:
            self._running = None
        await self._end(tasks, outcome)

    async def _plan(self, task: LocalTask) -> _Planned:
        return await self._planner.plan(task, self._presets_now())

    async def _companions(
        self, job: RenderJob
    ) -> list[tuple[LocalTask, RenderJob, tuple[str, ...]]]:
        """Waiting tasks that render in one call with ``job``, taken out of the line."""
        key = batch_key(job)
        found: list[tuple[LocalTask, RenderJob, tuple[str, ...]]] = []
        if key is None:
            return found
        for task in list(self._waiting):
            if len(found) >= self._settings.batch_jobs - 1:
                break
            try:
                known = self._plans.get(task)
                planned = known if known is not None else await self._plan(task)
            except Exception as exc:
                # A planning error ends that task alone; the batch goes on without it.
                if task in self._waiting:
                    self._waiting.remove(task)
                    self._renumber()
                    if isinstance(exc, UserFacingError):
                        kind = (
                            exc.kind
                            if isinstance(exc, ProviderError)
                            else FailureKind.INVALID_REQUEST
                        )
                        self._fail(task, kind, exc.message)
                    else:
                        log.exception("planning task %s failed", task.task_id)
                        self._fail(task, FailureKind.PROVIDER_ERROR, PLAN_FAILED)
                continue
            if task not in self._waiting:
                continue  # cancelled while it was planned
            if batch_key(planned[0]) != key:
                self._plans[task] = planned
                continue
            self._plans.pop(task, None)
            self._waiting.remove(task)
            found.append((task, *planned))
        self._renumber()
        return found

    async def _end(self, tasks: tuple[LocalTask, ...], outcome: _Outcome) -> None:
        """End the tasks of one call as the worker answered."""
        if isinstance(outcome, Done):
            outcome = BatchDone(seq=outcome.seq, results=(outcome.result,))
        if isinstance(outcome, BatchDone) and len(outcome.results) != len(tasks):
            # Never half an answer: every task of the call ends, none is left in progress.
            outcome = Failed(seq=outcome.seq, reason="error", message=PLAN_FAILED)
        if isinstance(outcome, BatchDone):
            for task, result in zip(tasks, outcome.results, strict=True):
                if task.cancel_requested:
                    task.cancel()
                    self._push(task)
                    continue
                # Stored while the next job renders: the device never waits for the disk.
                storing = asyncio.create_task(self._store_result(task, result))
                self._storing.add(storing)
                storing.add_done_callback(self._stored)
            return
        if isinstance(outcome, Cancelled) and len(tasks) > 1:
            # One cancel stops the shared call: the others render again, first in line.
            for task in reversed(tasks):
                if task.cancel_requested:
                    task.cancel()
                else:
                    task.status, task.progress, task.preview = TaskStatus.SUBMITTED, 0, None
                    self._waiting.appendleft(task)
            self._renumber()
            for task in tasks:
                self._push(task)
            return
        for task in tasks:
            await self._settle(task, outcome)
            self._push(task)

    async def _store_result(self, task: LocalTask, result: RenderResult) -> None:
        notes = (*task.notes, *result.notes)
        stored = StoredResult(
            width=result.width,
            height=result.height,
            count=len(result.pixels),
            steps_run=result.steps_run,
            notes=notes,
        )
        try:
            await asyncio.to_thread(self._store.save_result, task.task_id, result.pixels, stored)
        except OSError:
            log.exception("could not store the images of task %s", task.task_id)
            task.fail(FailureKind.PROVIDER_ERROR, STORE_FAILED)
        else:
            task.succeed(len(result.pixels), notes)
        self._push(task)

    def _stored(self, storing: asyncio.Task[None]) -> None:
        self._storing.discard(storing)
        if not self._storing and not self._waiting and self._running is None:
            self._idle.set()

    async def _outcome_of(self, seq: int) -> _Outcome:
        while True:
            for_seq, outcome = await self._outcomes.get()
            if for_seq == seq:
                return outcome

    async def _settle(self, task: LocalTask, outcome: _Outcome) -> None:
        """End a task that made no images as the worker's answer says (the caller pushes)."""
        if isinstance(outcome, Done | BatchDone | Cancelled):
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
        worker: WorkerProcess | None = None

        def on_event(event: WorkerEvent) -> None:
            # A late word from a worker already replaced (a crash, a failed start) is stale.
            if worker is self._worker:
                self._on_event(event)

        worker = self._worker_factory(self._options, on_event)
        # Held before it starts, so that a shutdown meanwhile stops it too.
        self._worker = worker
        try:
            self.ready = await worker.start(within=self._settings.start_timeout)
        except BaseException:
            # Failed or cancelled (a shutdown) while starting: nothing may keep running.
            self._worker = None
            await asyncio.shield(worker.stop())
            raise
        log.info("local renderer ready on %s (%s)", self.ready.device, self.ready.dtype)
        self._worker_alive = True
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
        if isinstance(event, Step):
            for index, task in enumerate(running[1]):
                task.progress = min(99, event.step * 100 // max(1, event.total))
                # A batch's previews show its first job's images.
                if event.preview is not None and index == 0:
                    task.preview, task.preview_count = event.preview, task.preview_count + 1
                self._push(task)
        elif isinstance(event, Done | BatchDone | Failed | Cancelled):
            self._outcomes.put_nowait((event.seq, event))
