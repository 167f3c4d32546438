"""The relax class of the scheduling policy: least recent relax usage first, in O(log n).

A user's relax usage decays: ``value * 0.5 ** ((now - at) / half_life)``. Every user's usage
decays by the same factor, so their ORDER never changes with time and a heap can hold it:
the rank ``log2(value) + (at - origin) / half_life`` orders users exactly as their usage at
any later ``now`` does (usage 0 ranks as minus infinity). A user's rank changes only when
they take a relax slot, and a queue's key only when its head job changes; both re-push the
queue, and the superseded heap entry is skipped when it surfaces (a stamp tells which).

A pick pops in (rank, head job id) order and takes the first queue whose guild and user may
start: the blocked ones ahead of it (at their running limit) go back. Cost: O((k + 1) log n)
for n waiting relax users and k blocked ones ranked ahead, where the old policy scanned all n.
One deliberate difference: the old scan let usage idle for ~1,000 half-lives underflow to 0
and tie with users who never used relax; here it keeps its (tiny) rank.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.jobs.entries import CanStart, QueueEntry

_Key = tuple[int, int]
"""(guild id, user id): one relax queue."""


class RelaxClass:
    """Relax jobs: the user with the least recent relax usage first, then the oldest job."""

    def __init__(self, half_life: float) -> None:
        self._half_life = half_life
        self._queues: dict[_Key, deque[QueueEntry]] = {}
        self._guilds_of: dict[int, set[int]] = {}
        self._usage: dict[int, tuple[float, float]] = {}
        """user id -> (usage value, when): as the old policy kept it."""
        self._rank: dict[int, float] = {}
        self._origin: float | None = None
        self._heap: list[tuple[float, int, int, int, int]] = []
        """(rank, head job id, guild id, user id, stamp); stale when the stamp moved on."""
        self._stamps: dict[_Key, int] = {}
        self._stamp = 0
        self.size = 0

    def add(self, entry: QueueEntry, *, front: bool) -> None:
        """A relax job starts waiting (``front``: at the head of its user's line)."""
        key = (entry.guild_id, entry.user_id)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            self._guilds_of.setdefault(entry.user_id, set()).add(entry.guild_id)
        if front or not queue:
            queue.appendleft(entry)
            self._push(key, queue)
        else:
            queue.append(entry)
        self.size += 1

    def discard(self, entry: QueueEntry) -> None:
        """A waiting relax job leaves (cancelled or picked)."""
        key = (entry.guild_id, entry.user_id)
        queue = self._queues[key]
        was_head = queue[0] is entry
        queue.remove(entry)
        self.size -= 1
        if not queue:
            del self._queues[key]
            del self._stamps[key]
            guilds = self._guilds_of[entry.user_id]
            guilds.discard(entry.guild_id)
            if not guilds:
                del self._guilds_of[entry.user_id]
        elif was_head:
            self._push(key, queue)

    def usage(self, user_id: int, now: float) -> float:
        """The user's decayed relax usage at ``now``."""
        value, at = self._usage.get(user_id, (0.0, now))
        return float(value * 0.5 ** (max(0.0, now - at) / self._half_life))

    def pick(self, can_start: CanStart, now: float) -> QueueEntry | None:
        """Take the head job of the first queue in rank order that may start, or None."""
        blocked: list[tuple[float, int, int, int, int]] = []
        chosen: QueueEntry | None = None
        heap = self._heap
        while heap:
            item = heap[0]
            _, _, guild_id, user_id, stamp = item
            if self._stamps.get((guild_id, user_id)) != stamp:
                heapq.heappop(heap)
                continue
            if can_start(guild_id, user_id):
                chosen = self._queues[(guild_id, user_id)][0]
                break
            blocked.append(heapq.heappop(heap))
        for item in blocked:
            heapq.heappush(heap, item)
        if chosen is not None:
            self.discard(chosen)
            self._charge(chosen, now)
        if len(heap) > 2 * len(self._stamps) + 64:
            self._compact()
        return chosen

    def _charge(self, entry: QueueEntry, now: float) -> None:
        value = self.usage(entry.user_id, now) + entry.weight
        self._usage[entry.user_id] = (value, now)
        if self._origin is None:
            self._origin = now
        self._rank[entry.user_id] = math.log2(value) + (now - self._origin) / self._half_life
        for guild_id in self._guilds_of.get(entry.user_id, ()):
            key = (guild_id, entry.user_id)
            self._push(key, self._queues[key])

    def _push(self, key: _Key, queue: deque[QueueEntry]) -> None:
        self._stamp += 1
        self._stamps[key] = self._stamp
        rank = self._rank.get(key[1], -math.inf)
        heapq.heappush(self._heap, (rank, queue[0].job_id, key[0], key[1], self._stamp))

    def _compact(self) -> None:
        # Superseded entries outnumber live ones: rebuild from the live queues only.
        self._heap = [
            (self._rank.get(user_id, -math.inf), queue[0].job_id, guild_id, user_id, stamp)
            for (guild_id, user_id), queue in self._queues.items()
            for stamp in (self._stamps[(guild_id, user_id)],)
        ]
        heapq.heapify(self._heap)
