"""Task status: many tasks per request, with a fallback for servers that lack batching.

``POST task/list-by-condition {ids}`` (trueai also serves it as ``list-by-ids``) answers for
every in-flight task in one request. A server without it (404/405) is remembered, and from
then on each task is fetched with ``GET task/{id}/fetch``. A task missing from the answer is
one the provider forgot (it keeps tasks in memory and may have restarted). A failed poll
raises ``ProviderUnavailable``: it never reads as "forgotten".
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from bot.errors import ProviderUnavailable
from bot.providers.base import TaskState, TaskStatus
from bot.providers.midjourney.codes import MALFORMED_MESSAGE
from bot.providers.midjourney.tasks import parse_task, parse_task_list, provider_origin
from bot.providers.midjourney.transport import POOL_SIZE, ProxyHttp

log = logging.getLogger(__name__)

BATCH_PATHS = ("task/list-by-condition", "task/list-by-ids")
BATCH_SIZE = 100
"""Ids per list request; servers put the whole list in one SQL ``IN`` or scan."""


class Lookup(enum.Enum):
    """The answer to "is there a task with this state?" when it is not a task."""

    ABSENT = "absent"
    UNKNOWN = "unknown"


def _task_list(body: Any, origin: str) -> list[TaskState]:
    # Some vendors wrap the list in a submit-style envelope.
    if isinstance(body, Mapping):
        body = body.get("result", body.get("data"))
    if not isinstance(body, list):
        raise ProviderUnavailable(MALFORMED_MESSAGE)
    return parse_task_list(body, origin=origin)


def _prefer_live(matches: Sequence[TaskState]) -> TaskState | None:
    # A failed duplicate from an earlier attempt must not shadow the task that is running.
    for task in matches:
        if task.status is not TaskStatus.FAILURE:
            return task
    return matches[0] if matches else None


class StatusReader:
    """Reads task states, batching where the server allows it."""

    def __init__(self, http: ProxyHttp) -> None:
        self._http = http
        self._origin = provider_origin(http.base_url)
        self._batch_paths = list(BATCH_PATHS)

    @property
    def batched(self) -> bool:
        """False once the server has shown it has no list endpoint."""
        return bool(self._batch_paths)

    async def fetch_many(self, task_ids: Sequence[str]) -> dict[str, TaskState]:
        """The known states of ``task_ids``; forgotten tasks are absent."""
        wanted = list(dict.fromkeys(task_ids))
        found: list[TaskState] = []
        for start in range(0, len(wanted), BATCH_SIZE):
            chunk = wanted[start : start + BATCH_SIZE]
            batch = await self._list_by_ids(chunk)
            found.extend(batch if batch is not None else await self._fetch_each(chunk))
        wanted_set = set(wanted)
        return {task.task_id: task for task in found if task.task_id in wanted_set}

    async def _list_by_ids(self, ids: list[str]) -> list[TaskState] | None:
        while self._batch_paths:
            path = self._batch_paths[0]
            reply = await self._http.call("POST", path, body={"ids": ids}, idempotent=True)
            if reply.missing_endpoint:
                log.info("provider has no %s; trying the next way to read status", path)
                self._batch_paths.pop(0)
                continue
            if reply.status >= 400:
                raise ProviderUnavailable(MALFORMED_MESSAGE)
            return _task_list(reply.body, self._origin)
        return None

    async def _fetch_each(self, ids: list[str]) -> list[TaskState]:
        limit = asyncio.Semaphore(max(1, POOL_SIZE // 2))

        async def one(task_id: str) -> TaskState | None:
            async with limit:
                return await self.fetch_one(task_id)

        results = await asyncio.gather(*(one(task_id) for task_id in ids))
        return [task for task in results if task is not None]

    async def fetch_raw(self, task_id: str) -> Mapping[str, Any] | None:
        """One task's JSON through ``GET task/{id}/fetch``; None when the provider forgot it."""
        reply = await self._http.call("GET", f"task/{task_id}/fetch", idempotent=True)
        if reply.status == 404 or reply.body is None:
            return None
        if reply.status >= 400 or not isinstance(reply.body, Mapping):
            raise ProviderUnavailable(MALFORMED_MESSAGE)
        if "id" not in reply.body and "code" in reply.body:
            return None  # a submit-style "not found" answer (code 3)
        return reply.body

    async def fetch_one(self, task_id: str) -> TaskState | None:
        """One task's state; None when the provider does not know it."""
        data = await self.fetch_raw(task_id)
        if data is None:
            return None
        task = parse_task(data, origin=self._origin)
        if task is None:
            raise ProviderUnavailable(MALFORMED_MESSAGE)
        return task

    async def lookup_state(self, state: str) -> TaskState | Lookup:
        """The task whose ``state`` is this value, ``ABSENT``, or ``UNKNOWN`` (cannot tell)."""
        if self._batch_paths and (task := await self._search_by_condition(state)) is not None:
            return task
        reply = await self._http.call("GET", "task/list", idempotent=True)
        if reply.status >= 400:
            return Lookup.UNKNOWN
        matches = [t for t in _task_list(reply.body, self._origin) if t.state == state]
        task = _prefer_live(matches)
        return task if task is not None else Lookup.ABSENT

    async def _search_by_condition(self, state: str) -> TaskState | None:
        # trueai's condition search; servers that ignore the field answer with no task, with
        # every task or with a refusal, and all of those fall through to the full list.
        reply = await self._http.call(
            "POST", self._batch_paths[0], body={"state": state}, idempotent=True
        )
        if reply.status >= 400 or not isinstance(reply.body, list):
            return None
        return _prefer_live([t for t in _task_list(reply.body, self._origin) if t.state == state])
