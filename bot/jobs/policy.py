"""The scheduling policy: which waiting job gets the next provider slot (pure, no I/O).

Classes: turbo before fast before relax, except that relax earns ``relax_share`` of the slot
starts while it waits, so it never starves. Turbo and fast use deficit round-robin between
guilds, weighted by each job's cost, so a guild with a thousand jobs waiting delays another
guild's job by at most one slot turnover; inside a guild, users take turns; inside a user,
first in, first out. Relax goes to the user with the least recent relax usage (decaying;
``bot.jobs.relax`` keeps that order in a heap).
Running limits (per user, per guild) make a user or guild skip its turn, not block others.

The dispatcher feeds it (``add``, ``pick``, ``finish``); it keeps a few small objects per job.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.jobs.entries import CanStart, QueueEntry
from bot.jobs.relax import RelaxClass
from bot.model import SpeedMode

QUANTUM = 1000
"""What a guild's deficit grows by at each turn, in millicredits of weight: one credit."""
RELAX_HALF_LIFE = 3600.0
"""Seconds in which a member's relax usage halves."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Running limits of one guild: per user, and for the whole guild (0: no limit)."""

    running_per_user: int
    running_per_guild: int = 0


@dataclass(slots=True)
class _GuildQueue:
    users: dict[int, deque[QueueEntry]] = field(default_factory=dict)
    turns: deque[int] = field(default_factory=deque)
    deficit: int = 0
    granted: bool = False

    def add(self, entry: QueueEntry, *, front: bool) -> None:
        queue = self.users.get(entry.user_id)
        if queue is None:
            queue = self.users[entry.user_id] = deque()
            if front:
                self.turns.appendleft(entry.user_id)
            else:
                self.turns.append(entry.user_id)
        if front:
            queue.appendleft(entry)
        else:
            queue.append(entry)

    def head(self, guild_id: int, can_start: CanStart) -> QueueEntry | None:
        for user_id in self.turns:
            if can_start(guild_id, user_id):
                return self.users[user_id][0]
        return None

    def discard(self, entry: QueueEntry) -> None:
        queue = self.users[entry.user_id]
        queue.remove(entry)
        if not queue:
            del self.users[entry.user_id]
            self.turns.remove(entry.user_id)

    def take(self, entry: QueueEntry) -> None:
        self.discard(entry)
        if entry.user_id in self.users:
            # The user just had a turn: to the back of the line.
            self.turns.remove(entry.user_id)
            self.turns.append(entry.user_id)


class _FairClass:
    """Deficit round-robin between guilds for one speed class."""

    def __init__(self, quantum: int) -> None:
        self._quantum = quantum
        self._guilds: dict[int, _GuildQueue] = {}
        self._active: deque[int] = deque()
        self.size = 0

    def add(self, entry: QueueEntry, *, front: bool) -> None:
        guild = self._guilds.get(entry.guild_id)
        if guild is None:
            guild = self._guilds[entry.guild_id] = _GuildQueue()
            if front:
                self._active.appendleft(entry.guild_id)
            else:
                self._active.append(entry.guild_id)
        if front:
            # A job handed back (provider busy) did not use its share.
            guild.deficit += entry.weight
        guild.add(entry, front=front)
        self.size += 1

    def extend(self, entries: list[QueueEntry]) -> None:
        """``add`` at the back for each entry in turn (recovery's bulk load), inlined."""
        guilds, active = self._guilds, self._active
        for entry in entries:
            guild = guilds.get(entry.guild_id)
            if guild is None:
                guild = guilds[entry.guild_id] = _GuildQueue()
                active.append(entry.guild_id)
            queue = guild.users.get(entry.user_id)
            if queue is None:
                queue = guild.users[entry.user_id] = deque()
                guild.turns.append(entry.user_id)
            queue.append(entry)
        self.size += len(entries)

    def discard(self, entry: QueueEntry) -> None:
        guild = self._guilds[entry.guild_id]
        guild.discard(entry)
        self.size -= 1
        self._forget_if_empty(entry.guild_id, guild)

    def _forget_if_empty(self, guild_id: int, guild: _GuildQueue) -> None:
        if not guild.users:
            del self._guilds[guild_id]
            self._active.remove(guild_id)

    def pick(self, can_start: CanStart) -> QueueEntry | None:
        skipped = 0
        while self._active and skipped < len(self._active):
            guild_id = self._active[0]
            guild = self._guilds[guild_id]
            entry = guild.head(guild_id, can_start)
            if entry is None:
                skipped += 1
                guild.granted = False
                self._active.rotate(-1)
                continue
            skipped = 0
            if not guild.granted:
                guild.deficit += self._quantum
                guild.granted = True
            if guild.deficit >= entry.weight:
                guild.deficit -= entry.weight
                guild.take(entry)
                self.size -= 1
                if not guild.users:
                    del self._guilds[guild_id]
                    self._active.popleft()
                return entry
            guild.granted = False
            self._active.rotate(-1)
        return None


class FairScheduler:
    """Waiting jobs by class, guild and user; ``pick`` says which one starts next."""

    def __init__(
        self,
        *,
        default_limits: Limits,
        relax_share: float,
        quantum: int = QUANTUM,
        relax_half_life: float = RELAX_HALF_LIFE,
    ) -> None:
        self._default_limits = default_limits
        self._limits: dict[int, Limits] = {}
        self._relax_share = relax_share
        self._relax_credit = 0.0
        self._fair = {SpeedMode.TURBO: _FairClass(quantum), SpeedMode.FAST: _FairClass(quantum)}
        self._relax = RelaxClass(relax_half_life)
        self._waiting: dict[int, QueueEntry] = {}
        self._running: dict[int, QueueEntry] = {}
        self._running_users: dict[tuple[int, int], int] = {}
        self._running_guilds: dict[int, int] = {}
        self._holds_queue = True

    def count_only(self) -> None:
        """The database holds the waiting jobs from now on (``bot.jobs.shared_queue``).

        This scheduler then keeps none (``add`` forgets, ``pick`` finds nothing): it counts
        this process's running jobs and keeps the guilds' limits.
        """
        self._holds_queue = False
        for job_id in list(self._waiting):
            self.remove(job_id)

    def set_limits(self, guild_id: int, limits: Limits) -> None:
        """Use these running limits for one guild (its configuration overrides settings)."""
        self._limits[guild_id] = limits

    def limits(self, guild_id: int) -> Limits:
        """The running limits that apply to a guild."""
        return self._limits.get(guild_id, self._default_limits)

    @property
    def waiting(self) -> int:
        """How many jobs wait."""
        return len(self._waiting)

    @property
    def running(self) -> int:
        """How many picked jobs have not finished."""
        return len(self._running)

    def waiting_by_speed(self) -> dict[SpeedMode, int]:
        """How many jobs wait in each speed class (queue depth, for metrics and /queue)."""
        sizes = {speed: fair.size for speed, fair in self._fair.items()}
        return {**sizes, SpeedMode.RELAX: self._relax.size}

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._waiting or job_id in self._running

    def add(self, entry: QueueEntry, *, front: bool = False) -> None:
        """A job starts waiting; ``front`` puts it back at the head of its user's line."""
        if entry.job_id in self or not self._holds_queue:
            return
        entry.weight = max(1, entry.weight)
        self._waiting[entry.job_id] = entry
        self._class(entry.speed).add(entry, front=front)

    def add_many(self, entries: Iterable[QueueEntry]) -> None:
        """``add`` each entry at the back of its line, in order, in one pass (recovery)."""
        if not self._holds_queue:
            return
        waiting, running = self._waiting, self._running
        by_class: dict[SpeedMode, list[QueueEntry]] = {speed: [] for speed in SpeedMode}
        for entry in entries:
            job_id = entry.job_id
            if job_id in waiting or job_id in running:
                continue
            if entry.weight < 1:
                entry.weight = 1
            waiting[job_id] = entry
            by_class[entry.speed].append(entry)
        # Classes are independent queues: filling one after another keeps each one's order.
        for speed, fair in self._fair.items():
            fair.extend(by_class[speed])
        for entry in by_class[SpeedMode.RELAX]:
            self._relax.add(entry, front=False)

    def remove(self, job_id: int) -> QueueEntry | None:
        """Stop waiting (cancelled); the entry, or None when it was not waiting."""
        entry = self._waiting.pop(job_id, None)
        if entry is not None:
            self._class(entry.speed).discard(entry)
        return entry

    def mark_running(self, entry: QueueEntry) -> None:
        """Count a job that is already at the provider (recovery) against the limits."""
        if entry.job_id in self:
            return
        self._start(entry)

    def finish(self, job_id: int) -> QueueEntry | None:
        """A picked job left its slot; the entry, or None when it was not running."""
        entry = self._running.pop(job_id, None)
        if entry is None:
            return None
        user_key = (entry.guild_id, entry.user_id)
        self._running_users[user_key] -= 1
        if not self._running_users[user_key]:
            del self._running_users[user_key]
        self._running_guilds[entry.guild_id] -= 1
        if not self._running_guilds[entry.guild_id]:
            del self._running_guilds[entry.guild_id]
        return entry

    def requeue(self, job_id: int) -> None:
        """A picked job could not start (provider busy): back to the head of its line."""
        entry = self.finish(job_id)
        if entry is not None:
            self.add(entry, front=True)

    def pick(self, now: float) -> QueueEntry | None:
        """The next job to start, now counted as running; None when nothing can start."""
        relax_waiting = self._relax.size > 0
        owed = relax_waiting and self._relax_credit >= 1.0
        if owed:
            entry = self._pick_relax(now)
            if entry is not None:
                self._relax_credit -= 1.0
                return self._start(entry)
        for speed in (SpeedMode.TURBO, SpeedMode.FAST):
            entry = self._fair[speed].pick(self._can_start)
            if entry is not None:
                del self._waiting[entry.job_id]
                if relax_waiting:
                    self._relax_credit = min(1.0, self._relax_credit + self._relax_share)
                return self._start(entry)
        entry = None if owed else self._pick_relax(now)
        return None if entry is None else self._start(entry)

    def _pick_relax(self, now: float) -> QueueEntry | None:
        entry = self._relax.pick(self._can_start, now)
        if entry is not None:
            del self._waiting[entry.job_id]
        return entry

    def _class(self, speed: SpeedMode) -> _FairClass | RelaxClass:
        return self._relax if speed is SpeedMode.RELAX else self._fair[speed]

    def _can_start(self, guild_id: int, user_id: int) -> bool:
        limits = self.limits(guild_id)
        if self._running_users.get((guild_id, user_id), 0) >= limits.running_per_user:
            return False
        return not (
            limits.running_per_guild
            and self._running_guilds.get(guild_id, 0) >= limits.running_per_guild
        )

    def _start(self, entry: QueueEntry) -> QueueEntry:
        self._running[entry.job_id] = entry
        user_key = (entry.guild_id, entry.user_id)
        self._running_users[user_key] = self._running_users.get(user_key, 0) + 1
        self._running_guilds[entry.guild_id] = self._running_guilds.get(entry.guild_id, 0) + 1
        return entry
