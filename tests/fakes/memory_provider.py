"""An in-memory ``ImageProvider`` whose tasks follow scripts, advanced by polls (no clock).

Each ``fetch_many`` moves every task it names one step along its script and reports it, so a
test decides exactly when things happen: ``Script(polls=3)`` succeeds on the third poll.
Submissions can be refused with queued errors (busy, unavailable, rejected); tasks can fail,
be cancelled, stall, or be forgotten as after a provider restart.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.errors import FailureKind, ProviderError, SubmitOutcomeUnknown
from bot.model import Action, ProviderButton
from bot.prompt import Prompt
from bot.providers.base import (
    ActionRequest,
    Capabilities,
    DownloadedImage,
    ImagineRequest,
    Submission,
    TaskState,
    TaskStatus,
)

Ending = Literal["success", "failure", "cancel", "stall"]

GRID_BUTTONS = (
    *(
        ProviderButton(
            custom_id=f"MJ::JOB::{kind}::{index}::{{task}}",
            label=f"{label}{index}",
            action=action,
            index=index,
        )
        for kind, label, action in (
            ("upsample", "U", Action.UPSCALE),
            ("variation", "V", Action.VARIATION),
        )
        for index in range(1, 5)
    ),
    ProviderButton(custom_id="MJ::JOB::reroll::0::{task}::SOLO", emoji="🔄", action=Action.REROLL),
)


@dataclass(frozen=True)
class Script:
    """How one submitted task behaves."""

    polls: int = 2
    """Polls until the task ends (1: it ends on the first poll)."""
    ending: Ending = "success"
    failure_kind: FailureKind = FailureKind.PROVIDER_ERROR
    failure_message: str = "The provider failed this task."
    forget_at: int | None = None
    """On this poll the provider no longer knows the task (as after its restart)."""


@dataclass
class FakeTask:
    """One task the fake provider holds."""

    task_id: str
    state: str
    request: ImagineRequest | ActionRequest
    script: Script
    polls: int = 0
    status: TaskStatus = TaskStatus.SUBMITTED
    progress: int = 0

    def snapshot(self) -> TaskState:
        """The task as ``fetch_many`` reports it."""
        done = self.status is TaskStatus.SUCCESS
        return TaskState(
            task_id=self.task_id,
            status=self.status,
            progress=self.progress,
            state=self.state,
            preview_url=(
                f"https://fake.test/{self.task_id}/preview-{self.progress}.png"
                if self.status is TaskStatus.IN_PROGRESS
                else None
            ),
            image_url=f"https://fake.test/{self.task_id}/grid.png" if done else None,
            image_urls=(
                tuple(f"https://fake.test/{self.task_id}/{i}.png" for i in range(1, 5))
                if done
                else ()
            ),
            buttons=(
                tuple(
                    ProviderButton(
                        custom_id=b.custom_id.format(task=self.task_id),
                        action=b.action,
                        index=b.index,
                        label=b.label,
                        emoji=b.emoji,
                        style=b.style,
                        type=b.type,
                    )
                    for b in GRID_BUTTONS
                )
                if done
                else ()
            ),
            failure_kind=(self.script.failure_kind if self.status is TaskStatus.FAILURE else None),
            failure_message=(
                self.script.failure_message if self.status is TaskStatus.FAILURE else None
            ),
        )

    def advance(self) -> None:
        """One poll's worth of work."""
        if self.status.terminal:
            return
        self.polls += 1
        if self.polls < self.script.polls or self.script.ending == "stall":
            if self.script.ending == "stall" and self.polls > 1:
                return
            self.status = TaskStatus.IN_PROGRESS
            self.progress = min(99, self.polls * 100 // self.script.polls)
            return
        self.status = {
            "success": TaskStatus.SUCCESS,
            "failure": TaskStatus.FAILURE,
            "cancel": TaskStatus.CANCEL,
        }[self.script.ending]
        self.progress = 100 if self.status is TaskStatus.SUCCESS else self.progress


@dataclass
class MemoryProvider:
    """The whole ``ImageProvider`` protocol, in memory, driven by scripts."""

    capabilities: Capabilities = field(default_factory=lambda: Capabilities(cancel=True))
    default: Script = field(default_factory=Script)
    scripts: deque[Script] = field(default_factory=deque)
    """Scripts for the next submissions, in order; then ``default``."""
    submit_errors: deque[ProviderError | None] = field(default_factory=deque)
    """Errors for the next submissions (None: accept that one)."""
    fetch_errors: deque[ProviderError] = field(default_factory=deque)
    on_fetch: Callable[[], None] | None = None
    """Called as each fetch starts: a test moves its clock here to make the fetch take time."""
    tasks: dict[str, FakeTask] = field(default_factory=dict)
    requests: list[ImagineRequest | ActionRequest] = field(default_factory=list)
    fetches: list[tuple[str, ...]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    peak_active: int = 0
    closed: bool = False
    suggested_poll_interval: float = 0.0
    """0: no advice, the dispatcher polls at its configured interval."""
    circuit_open: bool = False
    """True: the provider is considered down and no job should be sent."""
    dedupe: bool = False
    """Answer a request equal to a live task's with that task (midjourney-proxy code 21)."""
    late: set[int] = field(default_factory=set)
    """Job ids whose submission reaches the provider only after another submission has."""
    hang_next: int = 0
    """The next submissions go unanswered (``SubmitOutcomeUnknown``); their tasks appear
    only when ``serve_late()`` is called, as a provider that finishes a request its client
    gave up on."""
    hung: list[ImagineRequest | ActionRequest] = field(default_factory=list)
    lookup_errors: deque[ProviderError] = field(default_factory=deque)
    """Errors for the next ``find_by_state`` calls (the provider cannot be asked)."""
    lookups: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _live: set[str] = field(default_factory=set)

    @property
    def active(self) -> int:
        """Tasks the provider is working on (not finished, not cancelled)."""
        self._live = {task_id for task_id in self._live if self._working(task_id)}
        return len(self._live)

    def _working(self, task_id: str) -> bool:
        task = self.tasks.get(task_id)
        return task is not None and not task.status.terminal

    def _accept(self, request: ImagineRequest | ActionRequest) -> Submission:
        self.requests.append(request)
        error = self.submit_errors.popleft() if self.submit_errors else None
        if error is not None:
            raise error
        twin = self._twin(request) if self.dedupe else None
        if twin is not None:
            return Submission(task_id=twin, existing=True)
        task_id = self._new_task(request)
        if len(self._live) > self.peak_active:  # only then can the peak rise: skip the scan
            self.peak_active = max(self.peak_active, self.active)
        return Submission(task_id=task_id)

    def _new_task(self, request: ImagineRequest | ActionRequest) -> str:
        task_id = f"task-{next(self._ids)}"
        script = self.scripts.popleft() if self.scripts else self.default
        self.tasks[task_id] = FakeTask(task_id, str(request.job_id), request, script)
        self._live.add(task_id)
        return task_id

    def _twin(self, request: ImagineRequest | ActionRequest) -> str | None:
        """A live task made by the same request, whatever job asked for it."""
        asked = request.model_dump(exclude={"job_id"})
        for task in self.tasks.values():
            if not task.status.terminal and task.request.model_dump(exclude={"job_id"}) == asked:
                return task.task_id
        return None

    async def _arrive(self, request: ImagineRequest | ActionRequest) -> Submission:
        if self.hang_next:
            self.hang_next -= 1
            self.requests.append(request)
            self.hung.append(request)
            raise SubmitOutcomeUnknown("The image provider did not answer in time.")
        if request.job_id in self.late:
            await self._arrived.wait()
        try:
            return self._accept(request)
        finally:
            self._arrived.set()

    async def submit_imagine(self, request: ImagineRequest) -> Submission:
        """Accept a grid (or raise the next queued error)."""
        return await self._arrive(request)

    async def submit_action(self, request: ActionRequest) -> Submission:
        """Accept a follow-up (or raise the next queued error)."""
        return await self._arrive(request)

    async def fetch_many(self, task_ids: Sequence[str]) -> Mapping[str, TaskState]:
        """Advance every named task one step and report those still known."""
        self.fetches.append(tuple(task_ids))
        if self.on_fetch is not None:
            self.on_fetch()
        if self.fetch_errors:
            raise self.fetch_errors.popleft()
        found = {}
        for task_id in task_ids:
            task = self.tasks.get(task_id)
            if task is None:
                continue
            if task.script.forget_at is not None and task.polls + 1 >= task.script.forget_at:
                del self.tasks[task_id]
                continue
            task.advance()
            found[task_id] = task.snapshot()
        return found

    async def find_by_state(self, state: str) -> TaskState | None:
        """The task submitted for this job id, if the provider still has it."""
        self.lookups.append(state)
        if self.lookup_errors:
            raise self.lookup_errors.popleft()
        for task in self.tasks.values():
            if task.state == state:
                return task.snapshot()
        return None

    async def cancel(self, task_id: str) -> bool:
        """Cancel where the capabilities say so."""
        if not self.capabilities.cancel or task_id not in self.tasks:
            return False
        self.cancelled.append(task_id)
        task = self.tasks[task_id]
        if not task.status.terminal:
            task.status = TaskStatus.CANCEL
        return True

    async def result_image(self, task: TaskState, *, max_bytes: int) -> DownloadedImage:
        """A tiny fake image."""
        return DownloadedImage(data=b"\x89PNG fake", content_type="image/png", filename="x.png")

    def preview_image(self, reference: str) -> DownloadedImage | None:
        """Previews here are web addresses: no bytes to hand over."""
        return None

    def check_prompt(self, prompt: Prompt) -> None:
        """Every version renders here."""

    async def aclose(self) -> None:
        """Nothing to release."""
        self.closed = True

    def finish(self, task_id: str, ending: Ending = "success") -> None:
        """End a task on its next poll, whatever its script said."""
        task = self.tasks[task_id]
        task.script = Script(polls=task.polls + 1, ending=ending)

    def serve_late(self) -> list[str]:
        """Accept every unanswered submission now; their new task ids."""
        served, self.hung = self.hung, []
        return [self._new_task(request) for request in served]

    def forget_all(self) -> None:
        """Lose every task, as a provider restart would."""
        self.tasks.clear()
