"""Job events: a publish/subscribe stream the Discord layer (and tests) listen to.

Publishing never waits: each subscriber has its own bounded buffer, and when a subscriber
falls that far behind, its oldest buffered progress event is dropped first (a later event
says more), then its oldest event of any kind. The dispatcher is never slowed by a reader.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from types import TracebackType

from bot.model import JobEvent

log = logging.getLogger(__name__)


class Subscription:
    """One subscriber's stream; iterate it, and close it (or use ``async with``)."""

    def __init__(self, hub: JobEvents, capacity: int) -> None:
        self._hub = hub
        self._capacity = capacity
        self._buffer: deque[JobEvent] = deque()
        self._ready = asyncio.Event()
        self._closed = False
        self.dropped = 0

    def _push(self, event: JobEvent) -> None:
        if len(self._buffer) >= self._capacity:
            self._drop_one()
        self._buffer.append(event)
        self._ready.set()

    def _drop_one(self) -> None:
        self.dropped += 1
        for index, queued in enumerate(self._buffer):
            if queued.kind == "progress":
                del self._buffer[index]
                return
        self._buffer.popleft()

    def pending(self) -> list[JobEvent]:
        """Take every buffered event without waiting."""
        events = list(self._buffer)
        self._buffer.clear()
        self._ready.clear()
        return events

    async def get(self) -> JobEvent:
        """The next event, waiting for one; raises ``StopAsyncIteration`` once closed."""
        while not self._buffer:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._buffer.popleft()

    def close(self) -> None:
        """Stop receiving; a waiting reader ends its iteration."""
        self._closed = True
        self._hub._unsubscribe(self)
        self._ready.set()

    def __aiter__(self) -> AsyncIterator[JobEvent]:
        return self

    async def __anext__(self) -> JobEvent:
        return await self.get()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class JobEvents:
    """The hub: ``subscribe()`` for a stream, ``publish()`` from the services."""

    def __init__(self, *, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._subscribers: list[Subscription] = []

    def subscribe(self) -> Subscription:
        """A new stream of every event published from now on."""
        subscription = Subscription(self, self._capacity)
        self._subscribers.append(subscription)
        return subscription

    def publish(self, event: JobEvent) -> None:
        """Hand an event to every subscriber without waiting."""
        for subscription in self._subscribers:
            subscription._push(event)

    def _unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)

    @property
    def subscribers(self) -> int:
        """How many streams are open."""
        return len(self._subscribers)
