"""The queue every dispatching process shares (PostgreSQL), its policy's state in the database.

The policy is ``bot.jobs.policy``'s; with its state in the database it holds over all the
processes rather than within each.

A claim is one transaction that picks and takes up to ``count`` waiting jobs:

1. At a provider endpoint shared with other processes, it waits for their claims there, then
   counts the endpoint's free slots (``provider.max_concurrency`` over every process).
2. Turbo, then fast: it takes the head of the class's ring of guilds (``FOR UPDATE SKIP
   LOCKED``: another process's claim serves the next guilds meanwhile), then each guild's
   members in line order with their oldest jobs, and runs deficit round-robin over them
   exactly as ``FairScheduler`` does: a guild earns ``QUANTUM`` a turn and spends each job's
   weight; a member who took a job goes to the back of the line; a guild or member that cannot
   start (a running limit) gives its turn up.
3. Relax: the members with the least decaying relax usage first. Relax also earns
   ``relax_share`` of this process's slot starts while it waits (a share of starts, so per
   process it adds up to the same share over all of them), and takes slots nothing else can.
4. The new ring and line places, deficits and relax usage are written back, and the chosen
   jobs move ``queued -> submitting`` with this process as their owner.

Running limits are counted over every process in the same transaction, under a lock per guild
(``QueueState.lock_guilds``) that another process's claim skips. When a ring holds more guilds
than a claim reads, a guild that gives its turn up leaves this claim: it goes behind guilds
the claim has not seen. How the rows stay consistent with queueing: ``bot.store.queue_state``.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field

from bot.jobs.entries import QueueEntry
from bot.jobs.policy import QUANTUM, RELAX_HALF_LIFE, Limits
from bot.model import Job, JobState, SpeedMode
from bot.store.database import Transaction
from bot.store.jobs import JobRepository
from bot.store.queue_state import GuildMove, HeadJobs, MemberMove, QueueState

RING_SLACK = 2
"""Guilds a claim reads beyond one per slot: some may be at a running limit."""
LINE_SLACK = 2
"""Members a claim reads per guild beyond one per slot, for the same reason."""

LimitsOf = Callable[[int], Limits]


class RunningCounts:
    """Jobs in flight per member and per guild, over every process, plus this claim's picks."""

    def __init__(self, repo: JobRepository, limits: LimitsOf) -> None:
        self._repo = repo
        self._limits = limits
        self._members: dict[tuple[int, int], int] = {}
        self._guilds: dict[int, int] = {}
        self._loaded: set[int] = set()

    def seed(self, heads: Sequence[HeadJobs]) -> None:
        """Take the counts read with the members' lines, for guilds not counted yet."""
        fresh = {head.guild_id for head in heads} - self._loaded
        for head in heads:
            if head.guild_id in fresh:
                self._members[(head.guild_id, head.user_id)] = head.running
                self._guilds[head.guild_id] = head.guild_running
        self._loaded |= fresh

    async def load(self, tx: Transaction, guild_ids: Sequence[int]) -> None:
        """Count these guilds' jobs in flight (each guild once a claim)."""
        fresh = sorted(set(guild_ids) - self._loaded)
        if not fresh:
            return
        members, guilds = await self._repo.running_counts(tx, fresh)
        self._members.update(members)
        self._guilds.update(guilds)
        self._loaded.update(fresh)

    def can_start(self, guild_id: int, user_id: int) -> bool:
        """Whether the member's and the guild's running limits leave room for one more."""
        limits = self._limits(guild_id)
        if self._members.get((guild_id, user_id), 0) >= limits.running_per_user:
            return False
        running = self._guilds.get(guild_id, 0)
        return not (limits.running_per_guild and running >= limits.running_per_guild)

    def add(self, guild_id: int, user_id: int) -> None:
        """One more of theirs in flight (picked by this claim)."""
        key = (guild_id, user_id)
        self._members[key] = self._members.get(key, 0) + 1
        self._guilds[guild_id] = self._guilds.get(guild_id, 0) + 1


@dataclass(slots=True)
class _Member:
    guild_id: int
    user_id: int
    jobs: deque[tuple[int, int]]
    """(job id, weight) of the first waiting jobs read."""
    more: bool
    """More wait beyond those read."""
    moved: bool = False
    turn: int | None = None

    @property
    def emptied(self) -> bool:
        return not self.jobs and not self.more

    def move(self) -> MemberMove:
        return MemberMove(self.guild_id, self.user_id, self.turn, not self.emptied)


@dataclass(slots=True)
class _Guild:
    guild_id: int
    deficit: int
    granted: bool
    line: list[_Member]
    everyone: bool
    """The line read is the whole line: when it empties, the guild has nothing waiting."""
    members: list[_Member] = field(default_factory=list)
    turn: int | None = None

    def head(self, can_start: Callable[[int, int], bool]) -> _Member | None:
        for member in self.line:
            if member.jobs and can_start(self.guild_id, member.user_id):
                return member
        return None

    def take(self, member: _Member, turn: int) -> tuple[int, int]:
        job = member.jobs.popleft()
        member.moved = True
        self.line.remove(member)
        if not member.emptied:
            # The member just had a turn: to the back of the line.
            member.turn = turn
            self.line.append(member)
        return job

    @property
    def emptied(self) -> bool:
        return self.everyone and not self.line

    def move(self) -> GuildMove:
        if self.emptied:
            return GuildMove(self.guild_id, 0, False, self.turn, False)
        return GuildMove(self.guild_id, self.deficit, self.granted, self.turn, True)


class _Claim:
    """One claim's state: the places it hands out, in order, and the running counts read."""

    def __init__(self, running: RunningCounts) -> None:
        self._turns: Iterator[int] = itertools.count()
        self.running = running

    def turn(self) -> int:
        """The next place at the back of a ring or line, behind every earlier one."""
        return next(self._turns)


class SharedQueue:
    """Claims waiting jobs for this process under the policy every process shares."""

    def __init__(
        self,
        repo: JobRepository,
        limits: LimitsOf,
        *,
        relax_share: float,
        load_limits: Callable[[Transaction, set[int]], Awaitable[None]],
        state: QueueState | None = None,
        quantum: int = QUANTUM,
        relax_half_life: float = RELAX_HALF_LIFE,
    ) -> None:
        self._repo = repo
        self._limits = limits
        self._load_limits = load_limits
        self._state = state or QueueState()
        self._relax_share = relax_share
        self._relax_credit = 0.0
        self._quantum = quantum
        self._half_life = relax_half_life

    @property
    def state(self) -> QueueState:
        """The tables this queue reads and moves."""
        return self._state

    async def claim(
        self,
        tx: Transaction,
        count: int,
        *,
        now: float,
        endpoint: str | None,
        limit: int,
        fields: dict[str, str],
    ) -> list[tuple[Job, QueueEntry]]:
        """Take up to ``count`` waiting jobs, fairly; each with its entry.

        At most ``limit`` jobs run at ``endpoint`` over every process (None: no shared
        count); ``fields`` are the claim's columns (its owner and endpoint).
        """
        if endpoint is not None:
            await self._state.lock_endpoint(tx, endpoint)
        start = await self._state.begin(tx, endpoint)
        if endpoint is not None:
            count = min(count, limit - start.in_flight)
        if count <= 0:
            return []
        claim = _Claim(RunningCounts(self._repo, self._limits))
        picks: list[QueueEntry] = []
        if start.relax and self._relax_credit >= 1.0:
            owed = await self._claim_relax(tx, 1, claim, now)
            if owed:
                self._relax_credit -= 1.0
                picks += owed
        for speed in (SpeedMode.TURBO, SpeedMode.FAST):
            if start.waiting(speed) and len(picks) < count:
                fair = await self._claim_fair(tx, speed, count - len(picks), claim)
                picks += fair
                if start.relax:
                    self._relax_credit = min(
                        1.0, self._relax_credit + self._relax_share * len(fair)
                    )
        if start.relax and len(picks) < count:
            picks += await self._claim_relax(tx, count - len(picks), claim, now)
        if not picks:
            return []
        entries = {entry.job_id: entry for entry in picks}
        jobs = await self._repo.transition_many(
            tx,
            list(entries),
            JobState.QUEUED,
            JobState.SUBMITTING,
            now=now,
            bump_attempts=True,
            **fields,
        )
        return [(job, entries[job.id]) for job in jobs]

    async def _guilds(self, tx: Transaction, guild_ids: Sequence[int], claim: _Claim) -> set[int]:
        """The relax guilds among these this claim may serve: locked, limits and counts read."""
        mine = await self._state.lock_guilds(tx, guild_ids)
        if mine:
            await self._load_limits(tx, mine)
            await claim.running.load(tx, sorted(mine))
        return mine

    async def _claim_fair(
        self, tx: Transaction, speed: SpeedMode, count: int, claim: _Claim
    ) -> list[QueueEntry]:
        """Deficit round-robin over the head of one class's ring."""
        limit = count + RING_SLACK
        ring = await self._state.ring(tx, speed, limit)
        seen_all = len(ring) < limit
        ring = [guild for guild in ring if guild.mine]
        if not ring:
            return []
        await self._load_limits(tx, {guild.guild_id for guild in ring})
        members = count + LINE_SLACK
        heads = await self._state.lines(
            tx, speed, [guild.guild_id for guild in ring], members=members, depth=count
        )
        claim.running.seed(heads)
        lines: dict[int, list[_Member]] = {guild.guild_id: [] for guild in ring}
        for head in heads:
            lines[head.guild_id].append(_member_of(head))
        guilds = [
            _Guild(
                guild.guild_id,
                guild.deficit,
                guild.granted,
                line=list(lines[guild.guild_id]),
                everyone=len(lines[guild.guild_id]) < members,
                members=lines[guild.guild_id],
            )
            for guild in ring
        ]
        picks = self._round_robin(guilds, speed, count, claim, seen_all=seen_all)
        await self._state.move(
            tx,
            speed,
            [guild.move() for guild in guilds],
            [
                member.move()
                for guild in guilds
                for member in guild.members
                if member.moved or member.emptied
            ],
        )
        return picks

    def _round_robin(
        self,
        guilds: list[_Guild],
        speed: SpeedMode,
        count: int,
        claim: _Claim,
        *,
        seen_all: bool,
    ) -> list[QueueEntry]:
        """``_FairClass.pick`` repeated: up to ``count`` jobs, in ring order."""
        queue = deque(guilds)
        picks: list[QueueEntry] = []
        skipped = 0
        while queue and len(picks) < count and skipped < len(queue):
            guild = queue[0]
            member = guild.head(claim.running.can_start)
            if member is None:
                guild.granted = False
                skipped += self._to_the_back(queue, guild, claim, seen_all=seen_all)
                continue
            skipped = 0
            weight = member.jobs[0][1]
            if not guild.granted:
                guild.deficit += self._quantum
                guild.granted = True
            if guild.deficit >= weight:
                guild.deficit -= weight
                job_id, _ = guild.take(member, claim.turn())
                claim.running.add(guild.guild_id, member.user_id)
                picks.append(QueueEntry(job_id, guild.guild_id, member.user_id, speed, weight))
                if guild.emptied:
                    queue.popleft()
                continue
            guild.granted = False
            self._to_the_back(queue, guild, claim, seen_all=seen_all)
        return picks

    @staticmethod
    def _to_the_back(queue: deque[_Guild], guild: _Guild, claim: _Claim, *, seen_all: bool) -> int:
        """Move the guild at the head to the back of the ring; 1 if it stays in this claim."""
        guild.turn = claim.turn()
        if seen_all:
            queue.rotate(-1)
            return 1
        queue.popleft()  # behind guilds this claim has not read: not served again here
        return 0

    async def _claim_relax(
        self, tx: Transaction, count: int, claim: _Claim, now: float
    ) -> list[QueueEntry]:
        """The members with the least relax usage first, each charged as they take a slot."""
        heads = await self._state.relax_lines(tx, members=count + LINE_SLACK, depth=count)
        mine = await self._guilds(tx, sorted({head.guild_id for head in heads}), claim)
        usage: dict[int, tuple[float, float]] = {}
        members: list[_Member] = []
        heap: list[tuple[float, int, int]] = []
        for head in heads:
            if head.guild_id not in mine:
                continue
            member = _member_of(head)
            members.append(member)
            if head.usage is not None:
                usage[head.user_id] = head.usage
            if member.jobs:
                rank = self._rank(usage.get(member.user_id))
                heap.append((rank, member.jobs[0][0], len(members) - 1))
        heapq.heapify(heap)
        picks: list[QueueEntry] = []
        charges: dict[int, int] = {}
        while heap and len(picks) < count:
            rank, _, index = heapq.heappop(heap)
            member = members[index]
            guild_id = member.guild_id
            current = self._rank(usage.get(member.user_id))
            if current != rank:  # charged meanwhile, in another guild's line
                heapq.heappush(heap, (current, member.jobs[0][0], index))
                continue
            if not claim.running.can_start(guild_id, member.user_id):
                continue
            job_id, weight = member.jobs.popleft()
            member.moved = True
            claim.running.add(guild_id, member.user_id)
            picks.append(QueueEntry(job_id, guild_id, member.user_id, SpeedMode.RELAX, weight))
            charges[member.user_id] = charges.get(member.user_id, 0) + weight
            usage[member.user_id] = (self._usage_at(usage.get(member.user_id), now) + weight, now)
            if member.jobs:
                heapq.heappush(heap, (self._rank(usage[member.user_id]), member.jobs[0][0], index))
        await self._state.move(
            tx,
            SpeedMode.RELAX,
            members=[member.move() for member in members if member.moved or member.emptied],
        )
        await self._state.charge_relax(tx, charges, now=now, half_life=self._half_life)
        return picks

    def _usage_at(self, usage: tuple[float, float] | None, now: float) -> float:
        if usage is None:
            return 0.0
        value, at = usage
        return float(value * 0.5 ** (max(0.0, now - at) / self._half_life))

    def _rank(self, usage: tuple[float, float] | None) -> float:
        """As ``relax_usage.rank``: log2(usage) + when / half-life; never used ranks first."""
        if usage is None or usage[0] <= 0:
            return -math.inf
        value, at = usage
        return math.log2(value) + at / self._half_life


def _member_of(head: HeadJobs) -> _Member:
    return _Member(head.guild_id, head.user_id, deque(head.jobs), head.more)
