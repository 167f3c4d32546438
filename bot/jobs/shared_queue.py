"""The queue every dispatching process shares (PostgreSQL), its policy's state in the database.

The policy is ``bot.jobs.policy``'s; with its state in the database it holds over all the
processes rather than within each.

A claim is one transaction that picks and takes up to ``count`` waiting jobs:

1. At a provider endpoint shared with other processes, it waits for their claims there, then
   counts the endpoint's free slots (``provider.max_concurrency`` over every process). A
   process's own model is bounded by its own slots and skips this.
2. Turbo, then fast: it takes the head of the class's ring of guilds (``FOR UPDATE SKIP
   LOCKED``: another process's claim serves the next guilds meanwhile) with each guild's lock
   (another claim passes over it), then each guild's members in line order with their oldest
   jobs, and runs deficit round-robin over them as ``FairScheduler`` does
   (``bot.jobs.shared_ring``). A pass that could not fill the slots reads further round the
   ring, up to ``PASSES`` times. Each pass writes its moves back and takes its jobs in one
   statement, so the next read counts them.
3. Relax: the members with the least decaying relax usage first. Relax also earns
   ``relax_share`` of this process's slot starts while it waits (a share of starts, so per
   process it adds up to the same share over all of them), and takes slots nothing else can.
   The usage is charged once, at the end of the claim, members in order.

Running limits are counted over every process in the same transaction, read after the guilds'
locks were taken. How the rows stay consistent with queueing: ``bot.store.queue_state``.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

from bot.jobs.entries import QueueEntry
from bot.jobs.policy import QUANTUM, RELAX_HALF_LIFE, Limits
from bot.jobs.shared_ring import Claim, Guild, Member, member_of, round_robin
from bot.model import Job, SpeedMode
from bot.store.database import Database, Transaction
from bot.store.jobs import JobRepository
from bot.store.queue_reads import Defaults
from bot.store.queue_state import QueueState

Picked = tuple[list[QueueEntry], tuple[str, list[Any]] | None]
"""A class's picks, and the statement that writes its moves back (run with their claim)."""

RING_SLACK = 1
"""Guilds a claim reads beyond one per slot: the ring's head is often a guild that was just
served, whose turn now finds its deficit spent and moves it to the back."""
DEPTH_INTERVAL = 5.0
"""Seconds between counts of the queue's depth."""
PASSES = 4
"""Times a claim reads further round a ring whose first guilds could not use its slots
(those at a running limit are passed over in SQL, but a guild's turn may still find its
deficit short of its next job's weight)."""


class SharedQueue:
    """Claims waiting jobs for this process under the policy every process shares."""

    def __init__(
        self,
        repo: JobRepository,
        defaults: Limits,
        *,
        relax_share: float,
        state: QueueState | None = None,
        quantum: int = QUANTUM,
        relax_half_life: float = RELAX_HALF_LIFE,
    ) -> None:
        self._repo = repo
        self._defaults = Defaults(defaults.running_per_user, defaults.running_per_guild)
        self._state = state or QueueState()
        self._relax_share = relax_share
        self._relax_credit = 0.0
        self._quantum = quantum
        self._half_life = relax_half_life
        self.depth = dict.fromkeys(SpeedMode, 0)
        """Jobs waiting in each class over every process, as last counted."""
        self._counted_at = float("-inf")

    async def rebuild(self, tx: Transaction) -> int:
        """Put back in line any waiting job whose rows are missing (recovery); how many."""
        return await self._state.rebuild(tx)

    async def count(self, db: Database, now: float) -> None:
        """Count the jobs waiting in each class now and then (``depth``): for the metrics.

        A grouped count over every job waiting, so at most once in ``DEPTH_INTERVAL``.
        """
        if now - self._counted_at < DEPTH_INTERVAL:
            return
        self._counted_at = now
        async with db.transaction(serialised=False) as tx:
            self.depth = await self._state.waiting_by_speed(tx)

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
        claim = Claim()
        taken: list[tuple[Job, QueueEntry]] = []

        async def take(picked: Picked) -> int:
            taken.extend(await self._take(tx, picked, now=now, fields=fields))
            return len(picked[0])

        owed = start.relax and self._relax_credit >= 1.0
        if owed and await take(await self._claim_relax(tx, 1, claim, now)):
            self._relax_credit -= 1.0
        for speed in (SpeedMode.TURBO, SpeedMode.FAST):
            for _ in range(PASSES if start.waiting(speed) else 0):
                wanted = count - len(claim.picks)
                if wanted <= 0:
                    break
                fair, more = await self._claim_fair(tx, speed, wanted, claim)
                started = await take(fair)
                if start.relax:
                    share = self._relax_share * started
                    self._relax_credit = min(1.0, self._relax_credit + share)
                if not more:
                    break
        if start.relax and len(claim.picks) < count:
            await take(await self._claim_relax(tx, count - len(claim.picks), claim, now))
        # Once a claim, its members in order: two claims never lock usage rows crosswise.
        await self._state.charge_relax(tx, claim.relax_charges, now=now, half_life=self._half_life)
        return taken

    async def _take(
        self, tx: Transaction, picked: Picked, *, now: float, fields: dict[str, str]
    ) -> list[tuple[Job, QueueEntry]]:
        """Write the moves back and move the picked jobs to submitting, in one statement.

        Later reads in this claim no longer see those jobs as waiting.
        """
        entries, moving = picked
        if not entries:
            if moving is not None:
                await tx.execute(f"{moving[0]} SELECT 1", moving[1])
            return []
        by_id = {entry.job_id: entry for entry in entries}
        jobs = await self._repo.claim_many(tx, list(by_id), now=now, fields=fields, first=moving)
        return [(job, by_id[job.id]) for job in jobs]

    async def _claim_fair(
        self, tx: Transaction, speed: SpeedMode, count: int, claim: Claim
    ) -> tuple[Picked, bool]:
        """Deficit round-robin over the head of one class's ring.

        Also whether more guilds wait beyond those read (another pass may serve them).
        """
        read = await self._state.ring(tx, speed, count + RING_SLACK, self._defaults)
        seen_all = read.whole
        ring = [guild for guild in read.guilds if guild.mine]
        if not ring:
            return ([], None), False  # none, or all another claim's: so would another pass
        members = count  # each one read may start at least one job
        found, heads = await self._state.lines(
            tx,
            speed,
            [guild.guild_id for guild in ring],
            self._defaults,
            members=members,
            depth=count,
        )
        claim.running.seed(found, heads)
        waiting = {line.guild_id: line.members for line in found}
        lines: dict[int, list[Member]] = {guild.guild_id: [] for guild in ring}
        for head in heads:
            lines[head.guild_id].append(member_of(head))
        guilds = [
            Guild(
                guild.guild_id,
                guild.deficit,
                guild.granted,
                line=list(lines[guild.guild_id]),
                waiting=waiting.get(guild.guild_id, 0),
                members=lines[guild.guild_id],
            )
            for guild in ring
        ]
        picks = round_robin(guilds, speed, count, claim, seen_all=seen_all, quantum=self._quantum)
        moving = self._state.moves(
            speed,
            [guild.move() for guild in guilds],
            [
                member.move()
                for guild in guilds
                for member in guild.members
                if member.moved or member.emptied
            ],
        )
        claim.picks += picks
        return (picks, moving), not seen_all

    async def _claim_relax(self, tx: Transaction, count: int, claim: Claim, now: float) -> Picked:
        """The members with the least relax usage first, each charged as they take a slot."""
        chosen = await self._state.relax_members(tx, count, self._defaults)
        mine = await self._state.lock_guilds(tx, sorted({guild for guild, _ in chosen}))
        found, heads = await self._state.relax_heads(
            tx, [pair for pair in chosen if pair[0] in mine], self._defaults, depth=count
        )
        claim.running.seed(found, heads)
        usage = claim.relax_usage
        members: list[Member] = []
        heap: list[tuple[float, int, int]] = []
        for head in heads:
            member = member_of(head)
            members.append(member)
            if head.usage is not None and head.user_id not in claim.relax_charges:
                usage[head.user_id] = head.usage  # as stored, unless this claim charged them
            if member.jobs:
                rank = self._rank(usage.get(member.user_id))
                heap.append((rank, member.jobs[0][0], len(members) - 1))
        heapq.heapify(heap)
        picks: list[QueueEntry] = []
        charges = claim.relax_charges
        while heap and len(picks) < count:
            rank, _, index = heapq.heappop(heap)
            member = members[index]
            current = self._rank(usage.get(member.user_id))
            if current != rank:  # charged meanwhile, in another guild's line
                heapq.heappush(heap, (current, member.jobs[0][0], index))
                continue
            if not claim.running.can_start(member.guild_id, member.user_id):
                continue
            job_id, weight = member.jobs.popleft()
            member.moved = True
            claim.running.add(member.guild_id, member.user_id)
            picks.append(
                QueueEntry(job_id, member.guild_id, member.user_id, SpeedMode.RELAX, weight)
            )
            charges[member.user_id] = charges.get(member.user_id, 0) + weight
            usage[member.user_id] = (self._usage_at(usage.get(member.user_id), now) + weight, now)
            if member.jobs:
                heapq.heappush(heap, (self._rank(usage[member.user_id]), member.jobs[0][0], index))
        claim.picks += picks
        return picks, self._state.moves(
            SpeedMode.RELAX,
            members=[member.move() for member in members if member.moved or member.emptied],
        )

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
