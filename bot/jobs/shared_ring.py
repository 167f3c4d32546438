"""Deficit round-robin over the guilds a claim read from a ring (``bot.jobs.shared_queue``).

The same turns as ``bot.jobs.policy._FairClass.pick``, over what one claim read and locked:
a guild earns ``quantum`` when its turn starts and spends each job's weight; a member who took
a job goes to the back of the line; a guild with no member who can start, or too little left
for its next job, gives its turn up and goes to the back of the ring. What moved is written
back by the claim (``Guild.move``, ``Member.move``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.jobs.entries import QueueEntry
from bot.jobs.policy import Limits
from bot.model import SpeedMode
from bot.store.queue_reads import GuildLine, HeadJobs
from bot.store.queue_state import TURNS_PER_BLOCK, GuildMove, MemberMove


class RunningCounts:
    """Jobs in flight per member and per guild, over every process, plus this claim's picks.

    A guild's counts and limits come with each read of its line, after its lock was taken.
    """

    def __init__(self) -> None:
        self._limits: dict[int, Limits] = {}
        self._members: dict[tuple[int, int], int] = {}
        self._guilds: dict[int, int] = {}

    def seed(self, guilds: Sequence[GuildLine], heads: Sequence[HeadJobs]) -> None:
        """Take the limits and counts read with the lines: the newest read is exact.

        A claim moves each pass's jobs to submitting before its next read, and holds the
        guilds' locks, so a later read of a guild counts this claim's earlier picks too.
        """
        for guild in guilds:
            self._limits[guild.guild_id] = Limits(guild.per_user, guild.per_guild)
            self._guilds[guild.guild_id] = guild.running
        for head in heads:
            self._members[(head.guild_id, head.user_id)] = head.running

    def can_start(self, guild_id: int, user_id: int) -> bool:
        """Whether the member's and the guild's running limits leave room for one more."""
        limits = self._limits[guild_id]
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
class Member:
    """A member in a guild's line, with the first waiting jobs the claim read."""

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
        """Nothing of theirs waits any more."""
        return not self.jobs and not self.more

    def move(self) -> MemberMove:
        """Their line state to write back."""
        return MemberMove(self.guild_id, self.user_id, self.turn, not self.emptied)


@dataclass(slots=True)
class Guild:
    """A guild from the ring: its deficit round-robin state and the line the claim read."""

    guild_id: int
    deficit: int
    granted: bool
    line: list[Member]
    waiting: int
    """Members waiting in its line, whether read or not (some may be at their limit)."""
    members: list[Member] = field(default_factory=list)
    turn: int | None = None

    def head(self, can_start: Callable[[int, int], bool]) -> Member | None:
        """The first member in line with a job read who may start one."""
        for member in self.line:
            if member.jobs and can_start(self.guild_id, member.user_id):
                return member
        return None

    def take(self, member: Member, turn: int) -> tuple[int, int]:
        """The member's next job, (id, weight); they go to the back of the line (``turn``)."""
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
        """Nobody waits in its line any more (every member was read, and is done)."""
        return all(member.emptied for member in self.members) and (
            self.waiting <= len(self.members)
        )

    def move(self) -> GuildMove:
        """Its ring state to write back; an emptied guild leaves the ring."""
        if self.emptied:
            return GuildMove(self.guild_id, 0, False, self.turn, False)
        return GuildMove(self.guild_id, self.deficit, self.granted, self.turn, True)


class Claim:
    """One claim's state: the places it hands out, in order, and the running counts read."""

    def __init__(self) -> None:
        self._turns = 0
        self.running = RunningCounts()
        self.picks: list[QueueEntry] = []
        self.relax_usage: dict[int, tuple[float, float]] = {}
        """Members' relax usage as this claim charged it: (usage, when)."""
        self.relax_charges: dict[int, int] = {}
        """Relax weight this claim charges each member, written once, at its end."""

    def turn(self) -> int:
        """The next place at the back of a ring or line, behind every earlier one."""
        self._turns += 1
        return self._turns - 1

    @property
    def out_of_turns(self) -> bool:
        """The claim has handed out its block of places (it stops moving anyone)."""
        return self._turns >= TURNS_PER_BLOCK


def round_robin(
    guilds: list[Guild],
    speed: SpeedMode,
    count: int,
    claim: Claim,
    *,
    seen_all: bool,
    quantum: int,
) -> list[QueueEntry]:
    """``_FairClass.pick`` repeated: up to ``count`` jobs, in ring order.

    ``seen_all``: the claim read the whole ring, so a guild that gives its turn up may have
    another in this claim; otherwise it goes behind guilds the claim has not read.
    """
    queue = deque(guilds)
    picks: list[QueueEntry] = []
    skipped = 0
    while queue and len(picks) < count and skipped < len(queue) and not claim.out_of_turns:
        guild = queue[0]
        member = guild.head(claim.running.can_start)
        if member is None:
            guild.granted = False
            skipped += _to_the_back(queue, guild, claim, seen_all=seen_all)
            continue
        skipped = 0
        weight = member.jobs[0][1]
        if not guild.granted:
            guild.deficit += quantum
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
        _to_the_back(queue, guild, claim, seen_all=seen_all)
    return picks


def _to_the_back(queue: deque[Guild], guild: Guild, claim: Claim, *, seen_all: bool) -> int:
    """Move the guild at the head to the back of the ring; 1 if it stays in this claim."""
    guild.turn = claim.turn()
    if seen_all:
        queue.rotate(-1)
        return 1
    queue.popleft()  # behind guilds this claim has not read: the next pass reaches them
    return 0


def member_of(head: HeadJobs) -> Member:
    """A member as read with their head jobs."""
    return Member(head.guild_id, head.user_id, deque(head.jobs), head.more)
