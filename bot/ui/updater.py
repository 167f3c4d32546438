"""Throttled, coalescing message edits: at most one edit per key per interval, latest wins.

Discord rate-limits message edits per channel, and a job can report progress many times a
second. Each key (a job id) has at most one worker; a new payload replaces the pending one, so
only the latest state is ever sent. Final payloads skip the wait and close the key: anything
pushed for it afterwards (a late progress event) is ignored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

P = TypeVar("P")
# Bounded memory of closed keys: enough to outlast any event still in flight for a job.
_CLOSED_MEMORY = 10_000


@dataclass(slots=True)
class _Slot(Generic[P]):
    payload: P
    final: bool


class EditThrottle(Generic[P]):
    """Per-key throttled, coalesced application of payloads through ``apply``."""

    def __init__(
        self,
        apply: Callable[[int, P, bool], Awaitable[None]],
        *,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._apply = apply
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._pending: dict[int, _Slot[P]] = {}
        self._last_applied: dict[int, float] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._waiting: set[int] = set()
        self._closed: OrderedDict[int, None] = OrderedDict()
        self._idle = asyncio.Event()
        self._idle.set()

    def push(self, key: int, payload: P, *, final: bool = False) -> None:
        """Queue ``payload`` for ``key``, replacing any payload not yet applied."""
        if key in self._closed:
            return
        if final:
            self._closed[key] = None
            if len(self._closed) > _CLOSED_MEMORY:
                self._closed.popitem(last=False)
        self._pending[key] = _Slot(payload, final)
        worker = self._workers.get(key)
        if worker is not None and final and key in self._waiting:
            # The worker only sleeps out the interval; a final payload need not wait.
            worker.cancel()
            worker = None
        if worker is None:
            self._idle.clear()
            self._workers[key] = asyncio.create_task(self._run(key), name=f"edit-{key}")

    def forget(self, key: int) -> None:
        """Drop what is pending for ``key`` and close it (its message is gone)."""
        self._pending.pop(key, None)
        self._closed[key] = None

    @property
    def busy(self) -> bool:
        """Whether any payload is pending or being applied."""
        return bool(self._workers)

    async def flush(self) -> None:
        """Wait until every pending payload has been applied."""
        while self._workers:
            await self._idle.wait()

    async def close(self) -> None:
        """Cancel every worker; pending payloads are dropped."""
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._pending.clear()

    async def _run(self, key: int) -> None:
        me = asyncio.current_task()
        try:
            while (slot := self._pending.get(key)) is not None:
                wait = self._last_applied.get(key, -self._interval) + self._interval
                wait -= self._clock()
                if wait > 0 and not slot.final:
                    self._waiting.add(key)
                    try:
                        await self._sleep(wait)
                    finally:
                        self._waiting.discard(key)
                    continue
                slot = self._pending.pop(key)
                self._last_applied[key] = self._clock()
                try:
                    await self._apply(key, slot.payload, slot.final)
                except Exception:
                    log.exception("Applying an edit for %s failed", key)
                if slot.final:
                    self._last_applied.pop(key, None)
        finally:
            if self._workers.get(key) is me:
                del self._workers[key]
            if not self._workers:
                self._idle.set()
