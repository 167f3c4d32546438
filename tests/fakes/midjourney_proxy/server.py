"""The fake midjourney-proxy HTTP server: routes, admission, fault injection, callbacks."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import ClientError, ClientSession, web

from tests.fakes.midjourney_proxy.tasks import (
    GRID_ACTIONS,
    PROGRESS_STEPS,
    FakeTask,
    png_bytes,
    step,
)

SPEED_ROOTS = ("/mj", "/mj-fast/mj", "/mj-turbo/mj", "/mj-relax/mj")


class FakeMidjourneyProxy:
    """The fake server; ``base_url`` ends with ``/mj`` like a real deployment."""

    def __init__(
        self,
        *,
        concurrency: int = 3,
        queue_size: int = 10,
        novicezk: bool = False,
        secret: str | None = None,
        remix: bool = False,
    ) -> None:
        self.concurrency = concurrency
        self.queue_size = queue_size
        self.novicezk = novicezk
        self.secret = secret
        self.remix = remix
        self.tasks: dict[str, FakeTask] = {}
        self.banned_words: set[str] = set()
        self.failure_reasons: dict[str, str] = {}
        """Prompt substring -> the ``failReason`` such a task ends with."""
        self.images: dict[str, tuple[bytes, str]] = {}
        self.requests: list[tuple[str, str]] = []
        self.submissions: list[dict[str, Any]] = []
        self.hook_deliveries: list[tuple[str, int]] = []
        self.connections: set[tuple[str, int]] = set()
        self.headers_seen: list[dict[str, str]] = []
        self._faults: list[tuple[str, str, int]] = []
        self._gate: asyncio.Event | None = None
        self._late: list[tuple[asyncio.Event, asyncio.Event]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._ids = itertools.count(1_700_000_000_000_001)
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._clock: asyncio.Task[None] | None = None
        self._grid_png = png_bytes()
        self._single_png = png_bytes(grid=False)
        self.port = 0

    # ---- lifecycle -------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/mj"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        for root in SPEED_ROOTS:
            app.router.add_post(f"{root}/submit/{{kind}}", self._submit)
            app.router.add_get(f"{root}/task/list", self._list_all)
            app.router.add_post(
                f"{root}/task/{{listing:list-by-condition|list-by-ids}}", self._list
            )
            app.router.add_get(f"{root}/task/{{id}}/fetch", self._fetch)
            app.router.add_post(f"{root}/task/{{id}}/cancel", self._cancel)
        app.router.add_get("/images/{name}", self._image)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._session = ClientSession()

    async def aclose(self) -> None:
        await self.stop_clock()
        if self._gate is not None:
            self._gate.set()
        for opened, _ in self._late:
            opened.set()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeMidjourneyProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- faults ----------------------------------------------------------------------

    def fail_next(self, count: int = 1, *, status: int = 500, path: str = "") -> None:
        """The next ``count`` requests whose path contains ``path`` answer ``status``."""
        self._faults.extend([("status", path, status)] * count)

    def reset_next(self, count: int = 1, *, path: str = "") -> None:
        """The next ``count`` matching requests have their connection cut without an answer."""
        self._faults.extend([("reset", path, 0)] * count)

    def drop_answer_next(self, count: int = 1, *, path: str = "") -> None:
        """The next ``count`` matching requests are carried out, then the answer is lost."""
        self._faults.extend([("drop", path, 0)] * count)

    def serve_late_next(self, count: int = 1, *, path: str = "submit/") -> None:
        """The next ``count`` matching requests get no answer until ``serve_late()``.

        The client times out meanwhile; the request is then carried out all the same, so its
        task appears (in list-by-condition, the task list, fetch) only after the client gave
        up: a provider that accepts a submit late.
        """
        self._faults.extend([("late", path, 0)] * count)

    async def serve_late(self) -> None:
        """Carry out every request held by ``serve_late_next``, now, and wait until done."""
        held, self._late = self._late, []
        for opened, _ in held:
            opened.set()
        for _, served in held:
            await served.wait()

    def garble_next(self, count: int = 1, *, path: str = "") -> None:
        """The next ``count`` matching requests get a 200 with a body that is not JSON."""
        self._faults.extend([("garble", path, 200)] * count)

    def clear_faults(self) -> None:
        """Drop every fault not yet triggered."""
        self._faults.clear()

    @contextlib.asynccontextmanager
    async def holding(self) -> AsyncIterator[asyncio.Event]:
        """Hold every API answer until the block ends (slow responses, timeouts)."""
        self._gate = asyncio.Event()
        try:
            yield self._gate
        finally:
            self._gate.set()
            self._gate = None

    def forget_all(self) -> None:
        """Lose every task, as a server that keeps tasks in memory does on restart."""
        self.tasks.clear()

    def stall(self, task_id: str) -> None:
        """The task stops moving (``advance`` leaves it where it is)."""
        self.tasks[task_id].stalled = True

    def count(self, path_part: str) -> int:
        """How many requests had ``path_part`` in their path."""
        return sum(1 for _, path in self.requests if path_part in path)

    async def wait_until(self, predicate: Callable[[], Any], *, bound: float = 30.0) -> Any:
        """Wait until ``predicate()`` is truthy, re-checked after every request served.

        For clients in other processes, whose own state a test cannot await.
        """
        async with asyncio.timeout(bound):
            while not (value := predicate()):
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                await waiter
            return value

    def _wake_waiters(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # ---- driving tasks ---------------------------------------------------------------

    async def advance(self, task_id: str, steps: int = 1) -> FakeTask:
        """Move one task ``steps`` steps along NOT_START→SUBMITTED→IN_PROGRESS→SUCCESS."""
        task = self.tasks[task_id]
        for _ in range(steps):
            if task.terminal or task.stalled or task.status in {"NOT_START", "MODAL"}:
                break
            step(task, self.root_url)
            await self._notify(task)
            if task.terminal:
                await self._start_waiting()
        return task

    async def complete(self, task_id: str) -> FakeTask:
        """Run one task to its end (success or its planned failure)."""
        return await self.advance(task_id, steps=len(PROGRESS_STEPS) + 2)

    async def complete_all(self) -> None:
        """Run every task, queued ones included, to its end."""
        while movable := [t for t in self.tasks.values() if self._movable(t)]:
            for task in movable:
                await self.complete(task.id)

    async def advance_all(self) -> None:
        """One step for every task that can move."""
        for task in [t for t in self.tasks.values() if self._movable(t)]:
            await self.advance(task.id)

    def start_clock(self, step_seconds: float, *, jitter: float = 0.0, seed: int = 0) -> None:
        """Benchmarks only: every ``step_seconds`` each running task moves one step.

        ``jitter`` 0: every task steps at once. Above 0, each task keeps a time of its own:
        each of its steps takes ``step_seconds`` times a factor drawn in ``1 ± jitter``, so
        renders end one at a time, as on a real machine, rather than all together.
        """
        if not jitter:

            async def tick() -> None:
                while True:
                    await asyncio.sleep(step_seconds)
                    await self.advance_all()

            self._clock = asyncio.create_task(tick())
            return
        draw = random.Random(seed)
        due: dict[str, float] = {}
        loop = asyncio.get_running_loop()

        def later(now: float) -> float:
            return now + step_seconds * draw.uniform(1 - jitter, 1 + jitter)

        async def each_task() -> None:
            while True:
                await asyncio.sleep(step_seconds / 20)
                now = loop.time()
                for task in [t for t in self.tasks.values() if self._movable(t)]:
                    if now >= due.setdefault(task.id, later(now)):
                        due[task.id] = later(now)
                        await self.advance(task.id)

        self._clock = asyncio.create_task(each_task())

    async def stop_clock(self) -> None:
        if self._clock is not None:
            self._clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock
            self._clock = None

    def _movable(self, task: FakeTask) -> bool:
        return not task.terminal and not task.stalled and task.status not in {"NOT_START", "MODAL"}

    async def _start_waiting(self) -> None:
        running = sum(1 for t in self.tasks.values() if t.status in {"SUBMITTED", "IN_PROGRESS"})
        for task in self.tasks.values():
            if running >= self.concurrency:
                return
            if task.status == "NOT_START":
                task.status = "SUBMITTED"
                running += 1
                await self._notify(task)

    async def _notify(self, task: FakeTask) -> None:
        if not task.notify_hook or self._session is None:
            return
        try:
            async with self._session.post(task.notify_hook, json=self._json(task)) as response:
                self.hook_deliveries.append((task.id, response.status))
        except ClientError:
            self.hook_deliveries.append((task.id, 0))  # best effort, as the real servers

    # ---- HTTP ------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        self.headers_seen.append(dict(request.headers))
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer:
            self.connections.add((str(peer[0]), int(peer[1])))
        if request.path.startswith("/images/"):
            return await handler(request)
        if self.secret and request.headers.get("mj-api-secret") != self.secret:
            return web.Response(status=401, text="unauthorized")
        if self._gate is not None:
            await self._gate.wait()
        for number, (kind, part, status) in enumerate(self._faults):
            if part in request.path:
                del self._faults[number]
                if kind == "reset" and request.transport is not None:
                    request.transport.abort()
                    return web.Response(status=500)
                if kind == "late":
                    return await self._serve_late(request, handler)
                if kind == "garble":
                    return web.Response(status=200, text="<html>gateway</html>")
                if kind == "drop" and request.transport is not None:
                    await handler(request)
                    request.transport.abort()
                    return web.Response(status=500)
                return web.Response(status=status, text="injected failure")
        try:
            return await handler(request)
        finally:
            self._wake_waiters()

    async def _serve_late(self, request: web.Request, handler: Any) -> web.StreamResponse:
        await request.read()  # kept by the request: its client is gone when it is served
        opened, served = asyncio.Event(), asyncio.Event()
        self._late.append((opened, served))
        await opened.wait()
        try:
            return await handler(request)
        finally:
            served.set()

    def _json(self, task: FakeTask) -> dict[str, Any]:
        return task.to_json(buttons=not self.novicezk)

    def _new_task(self, action: str, prompt: str, body: dict[str, Any], **extra: Any) -> FakeTask:
        task = FakeTask(
            id=str(next(self._ids)),
            action=action,
            prompt=prompt,
            state=body.get("state"),
            notify_hook=body.get("notifyHook"),
            body=body,
            **extra,
        )
        for fragment, reason in self.failure_reasons.items():
            if fragment in prompt:
                task.planned_failure = reason
        return task

    def _admit(self, task: FakeTask) -> web.Response:
        running = sum(1 for t in self.tasks.values() if t.status in {"SUBMITTED", "IN_PROGRESS"})
        waiting = sum(1 for t in self.tasks.values() if t.status == "NOT_START")
        if running < self.concurrency:
            self.tasks[task.id] = task
            return _answer(1, "Submit success", task.id)
        if waiting >= self.queue_size:
            return _answer(23, "Queue is full, please try again later")
        task.status = "NOT_START"
        self.tasks[task.id] = task
        return _answer(22, f"In queue, {waiting} tasks ahead", task.id, numberOfQueues=waiting)

    async def _submit(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        body = await request.json()
        self.submissions.append({"kind": kind, "path": request.path, **body})
        if kind == "imagine":
            return self._imagine(body)
        if kind == "change":
            return self._change(body)
        if self.novicezk:
            raise web.HTTPNotFound
        if kind == "action":
            return self._action(body)
        if kind == "modal":
            task = self.tasks.get(str(body.get("taskId")))
            if task is None or task.status != "MODAL":
                return _answer(3, "Task does not exist or has expired")
            task.status, task.prompt = "SUBMITTED", str(body.get("prompt") or task.prompt)
            return _answer(1, "Submit success", task.id)
        raise web.HTTPNotFound

    def _imagine(self, body: dict[str, Any]) -> web.Response:
        prompt = str(body.get("prompt") or "")
        if not prompt:
            return _answer(4, "prompt cannot be empty")
        for word in self.banned_words:
            if word in prompt.lower().split():
                props = {} if self.novicezk else {"bannedWord": word}
                return _answer(24, "May contain sensitive words", **props)
        modes = (body.get("accountFilter") or {}).get("modes") or ["FAST"]
        return self._admit(self._new_task("IMAGINE", prompt, body, mode=modes[0]))

    def _child(self, parent_id: str, action: str, index: int, body: dict[str, Any]) -> web.Response:
        parent = self.tasks.get(parent_id)
        if parent is None:
            return _answer(3, "Task does not exist or has expired")
        if parent.status != "SUCCESS":
            return _answer(4, "Task status error")
        description = f"/up {parent_id} {action}{index}"
        for task in self.tasks.values():
            if task.description == description and task.status != "FAILURE":
                return _answer(21, "Task already exists", task.id, status=task.status)
        single = action.startswith(("UPSCALE", "upsample"))
        task = self._new_task(
            action.upper() if action in GRID_ACTIONS.values() else "ACTION",
            parent.prompt,
            body,
            single=single,
            parent_id=parent_id,
            description=description,
        )
        if self.remix and action == "VARIATION" and not self.novicezk:
            task.status = "MODAL"
            self.tasks[task.id] = task
            return _answer(21, "Waiting for window confirm", task.id, status="MODAL")
        return self._admit(task)

    def _change(self, body: dict[str, Any]) -> web.Response:
        action = str(body.get("action", ""))
        if action not in GRID_ACTIONS.values():
            return _answer(4, "action parameter error")
        index = int(body.get("index") or 0)
        return self._child(str(body.get("taskId")), action, index, body)

    def _action(self, body: dict[str, Any]) -> web.Response:
        parts = str(body.get("customId", "")).split("::")
        if len(parts) < 4 or parts[0] != "MJ":
            return _answer(4, "customId error")
        name = GRID_ACTIONS.get(parts[2], parts[2])
        return self._child(str(body.get("taskId")), name, int(parts[3]), body)

    async def _fetch(self, request: web.Request) -> web.Response:
        task = self.tasks.get(request.match_info["id"])
        if task is None:
            return web.Response(status=200) if self.novicezk else web.Response(status=204)
        return web.json_response(self._json(task))

    async def _list(self, request: web.Request) -> web.Response:
        if self.novicezk:
            raise web.HTTPNotFound
        body = await request.json()
        ids = [str(i) for i in body.get("ids") or []]
        state = body.get("state")
        found = [t for i in ids if (t := self.tasks.get(i)) is not None]
        if state is not None and request.match_info["listing"] == "list-by-condition":
            found = [t for t in self.tasks.values() if t.state == state]
        return web.json_response([self._json(t) for t in found])

    async def _list_all(self, request: web.Request) -> web.Response:
        return web.json_response([self._json(t) for t in reversed(self.tasks.values())])

    async def _cancel(self, request: web.Request) -> web.Response:
        if self.novicezk:
            raise web.HTTPNotFound
        task = self.tasks.get(request.match_info["id"])
        if task is not None and not task.terminal:
            task.status, task.fail_reason = "FAILURE", "Task cancelled by user"
            await self._notify(task)
            await self._start_waiting()
        return web.Response(status=200)

    async def _image(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name in self.images:
            data, content_type = self.images[name]
            return web.Response(body=data, content_type=content_type)
        task = self.tasks.get(name.split(".")[0].removesuffix("-preview"))
        if task is None:
            raise web.HTTPNotFound
        data = self._single_png if task.single else self._grid_png
        return web.Response(body=data, content_type="image/png")


def _answer(code: int, description: str, result: str | None = None, **props: Any) -> web.Response:
    payload = {"code": code, "description": description, "result": result, "properties": props}
    return web.json_response(payload)
