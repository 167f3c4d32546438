"""The shared queue's reads for a claim (PostgreSQL): who waits at the head, and what they hold.

Each read's place in the claim's order matters; ``bot.store.queue_state`` says why. The SQL
names its constants (``'queued'``, the states in flight) rather than taking them as
parameters, so that the partial indexes of migration 0008 serve it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.model import SpeedMode
from bot.store.database import Row, Transaction

# Advisory lock classes beside the store's own ("TESS", "TESS" + 1): "TESS" + 2 and + 3.
GUILD_LOCK = 0x54455355
ENDPOINT_LOCK = 0x54455356


@dataclass(frozen=True, slots=True)
class Defaults:
    """The running limits of a guild that set none (the scheduler settings)."""

    per_user: int
    per_guild: int


@dataclass(frozen=True, slots=True)
class ClaimStart:
    """Which classes have anyone waiting as a claim begins, and its endpoint's jobs."""

    turbo: bool
    fast: bool
    relax: bool
    in_flight: int = 0
    """Jobs submitting or running at the claim's endpoint, over every process."""

    def waiting(self, speed: SpeedMode) -> bool:
        """Whether a class may have waiting jobs."""
        return {SpeedMode.TURBO: self.turbo, SpeedMode.FAST: self.fast}.get(speed, self.relax)


@dataclass(frozen=True, slots=True)
class RingGuild:
    """A guild's place in one class's ring, as read (and locked) by a claim."""

    guild_id: int
    deficit: int
    granted: bool
    mine: bool
    """The claim holds the guild's lock: no other claim serves it until this one commits."""


@dataclass(frozen=True, slots=True)
class Ring:
    """What a claim read and locked of a class's ring."""

    guilds: list[RingGuild]
    whole: bool
    """Every guild that could be served now is here: none held by another claim, none
    beyond the claim's limit. A guild may then have another turn in this same claim."""


@dataclass(frozen=True, slots=True)
class GuildLine:
    """What a claim reads of a guild: its limits, its jobs in flight, how many wait in line."""

    guild_id: int
    per_user: int
    per_guild: int
    running: int
    members: int
    """Members with jobs waiting in line, whether or not the claim read them (counted up to
    one more than the claim reads)."""


@dataclass(frozen=True, slots=True)
class HeadJobs:
    """A member's first waiting jobs of one class, oldest first (``more``: others follow)."""

    guild_id: int
    user_id: int
    jobs: tuple[tuple[int, int], ...]
    """(job id, weight) of each."""
    more: bool
    running: int
    """The member's jobs in flight, over every process."""
    usage: tuple[float, float] | None = None
    """Relax only: (usage, when it was last charged); None if never."""


class QueueReads:
    """The statements of a claim that read (and lock) the shared queue."""

    async def begin(self, tx: Transaction, endpoint: str | None = None) -> ClaimStart:
        """Which classes have anyone waiting, and the jobs in flight at ``endpoint`` (if any).

        Run after ``lock_endpoint``: the count then includes every claim there before.
        """
        row = await tx.fetch_one(
            "SELECT EXISTS (SELECT 1 FROM queue_guilds WHERE speed = 'turbo' AND active),"  # noqa: S608
            " EXISTS (SELECT 1 FROM queue_guilds WHERE speed = 'fast' AND active),"
            " EXISTS (SELECT 1 FROM queue_members WHERE speed = 'relax' AND active),"
            f" (SELECT COUNT(*) FROM jobs WHERE {_IN_FLIGHT} AND endpoint = ?)",
            (endpoint,),
        )
        if row is None:  # pragma: no cover - a SELECT without FROM returns its one row
            raise RuntimeError("no row from the claim's first statement")
        return ClaimStart(bool(row[0]), bool(row[1]), bool(row[2]), int(row[3]))

    async def lock_endpoint(self, tx: Transaction, endpoint: str) -> None:
        """Wait for the claims at ``endpoint`` before this one: its free slots are counted next."""
        await tx.execute(
            "SELECT pg_advisory_xact_lock(?, hashtext(current_schema() || ' ' || ?))",
            (ENDPOINT_LOCK, endpoint),
        )

    async def ring(self, tx: Transaction, speed: SpeedMode, limit: int, defaults: Defaults) -> Ring:
        """The first ``limit`` guilds of a class's ring no other claim holds, in ring order.

        Guilds at their own running limit are passed over. Their rows are locked; each
        guild's lock is tried too (``mine``: taken), in the same round trip, and only for the
        rows this claim got: the lock is tried outside the CTE that locks them.
        """
        rows = await tx.fetch_all(
            "WITH head AS MATERIALIZED (SELECT q.guild_id, q.deficit, q.granted, q.turn"  # noqa: S608
            f" {_SERVABLE} ORDER BY q.turn LIMIT ? FOR UPDATE OF q SKIP LOCKED), servable AS"
            f" (SELECT COUNT(*) AS guilds FROM (SELECT 1 {_SERVABLE} ORDER BY q.turn LIMIT ?)"
            " AS eligible)"
            f" SELECT guild_id, deficit, granted, {_TRY_GUILD_LOCK}, servable.guilds"
            " FROM head, servable ORDER BY turn",
            (
                *(speed.value, defaults.per_guild, defaults.per_guild, limit),
                *(speed.value, defaults.per_guild, defaults.per_guild, limit + 1),
                GUILD_LOCK,
            ),
        )
        guilds = [RingGuild(int(row[0]), int(row[1]), bool(row[2]), bool(row[3])) for row in rows]
        return Ring(guilds, whole=bool(rows) and int(rows[0][4]) == len(rows))

    async def lock_guilds(self, tx: Transaction, guild_ids: Sequence[int]) -> set[int]:
        """The guilds among these that no other claim is serving; held until the commit."""
        if not guild_ids:
            return set()
        rows = await tx.fetch_all(
            "SELECT guild_id FROM unnest(?::bigint[]) AS g(guild_id)"  # noqa: S608 (constant)
            f" WHERE {_TRY_GUILD_LOCK}",
            (list(guild_ids), GUILD_LOCK),
        )
        return {int(row[0]) for row in rows}

    async def lines(
        self,
        tx: Transaction,
        speed: SpeedMode,
        guild_ids: Sequence[int],
        defaults: Defaults,
        *,
        members: int,
        depth: int,
    ) -> tuple[list[GuildLine], list[HeadJobs]]:
        """Each guild's first ``members`` members in line who may start, ``depth`` jobs each.

        With the guilds' limits and jobs in flight: run after the guilds' locks were taken,
        the counts include every claim that committed before.
        """
        rows = await tx.fetch_all(
            _LINES,
            (
                defaults.per_user,
                defaults.per_guild,
                speed.value,
                members,
                list(guild_ids),
                speed.value,
                members,
                depth,
                speed.value,
                depth,
            ),
        )
        guilds: dict[int, GuildLine] = {}
        heads: list[HeadJobs] = []
        for row in rows:
            guild_id = int(row[0])
            if guild_id not in guilds:
                guilds[guild_id] = GuildLine(
                    guild_id, int(row[1]), int(row[2]), int(row[3]), int(row[4])
                )
            if row[5] is not None:
                heads.append(_head_jobs(row, running=int(row[9])))
        return list(guilds.values()), heads

    async def relax_members(
        self, tx: Transaction, limit: int, defaults: Defaults
    ) -> list[tuple[int, int]]:
        """The first ``limit`` relax members by least usage who may start; their rows locked.

        (guild, member) pairs, in order: the least usage first (never used first of all),
        then the longest waiting.
        """
        rows = await tx.fetch_all(
            "SELECT m.guild_id, m.user_id FROM queue_members AS m"  # noqa: S608 (constants)
            " LEFT JOIN guild_config AS c ON c.guild_id = m.guild_id"
            " WHERE m.speed = 'relax' AND m.active"
            f" AND ({_MEMBER_RUNNING.format(guild='m.guild_id', user='m.user_id')})"
            " < COALESCE(c.max_running_per_user, ?)"
            " AND (COALESCE(c.max_running_per_guild, ?) = 0"
            f" OR ({_GUILD_RUNNING.format(guild='m.guild_id')})"
            " < COALESCE(c.max_running_per_guild, ?))"
            " ORDER BY m.rank ASC NULLS FIRST, m.turn LIMIT ? FOR UPDATE OF m SKIP LOCKED",
            (defaults.per_user, defaults.per_guild, defaults.per_guild, limit),
        )
        return [(int(row[0]), int(row[1])) for row in rows]

    async def relax_heads(
        self,
        tx: Transaction,
        members: Sequence[tuple[int, int]],
        defaults: Defaults,
        *,
        depth: int,
    ) -> tuple[list[GuildLine], list[HeadJobs]]:
        """These relax members' first waiting jobs, usage and counts, read after their locks."""
        if not members:
            return [], []
        rows = await tx.fetch_all(
            _RELAX_HEADS,
            (
                [guild for guild, _ in members],
                [user for _, user in members],
                defaults.per_user,
                defaults.per_guild,
                depth,
                SpeedMode.RELAX.value,
                depth,
            ),
        )
        guilds: dict[int, GuildLine] = {}
        heads: list[HeadJobs] = []
        for row in rows:
            guild_id = int(row[0])
            guilds.setdefault(
                guild_id, GuildLine(guild_id, int(row[1]), int(row[2]), int(row[3]), 0)
            )
            usage = None if row[10] is None else (float(row[10]), float(row[11]))
            heads.append(_head_jobs(row, running=int(row[9]), usage=usage))
        return list(guilds.values()), heads


def _head_jobs(row: Row, *, running: int, usage: tuple[float, float] | None = None) -> HeadJobs:
    """A member's head jobs from a row of ``_LINES`` or ``_RELAX_HEADS``.

    Positions 0 and 5: the guild and the member; 6 to 8: the heads' ids, weights and
    whether more follow (``_heads``).
    """
    ids = [int(job_id) for job_id in row[6] or ()]
    weights = [max(1, int(weight)) for weight in row[7] or ()]
    more = bool(row[8])
    jobs = tuple(zip(ids, weights, strict=True))
    return HeadJobs(int(row[0]), int(row[5]), jobs[:-1] if more else jobs, more, running, usage)


def _heads(guild: str, user: str) -> str:
    """A member's first ``?`` waiting jobs of class ``?`` as arrays, and whether more follow.

    ``guild`` and ``user`` name the outer query's columns; the parameters are the depth, the
    speed and the depth again.
    """
    return (
        "SELECT array_agg(id ORDER BY id) AS ids, array_agg(weight ORDER BY id) AS weights,"  # noqa: S608 (column names from this module, ? marks)
        f" COUNT(*) > ? AS more FROM (SELECT id, weight FROM jobs WHERE state = 'queued'"
        f" AND guild_id = {guild} AND user_id = {user} AND speed = ? ORDER BY id LIMIT ? + 1)"
        " AS head"
    )


# Constants, not parameters: they select the partial indexes jobs_queued_member and
# jobs_in_flight.
_IN_FLIGHT = "finished_at IS NULL AND state IN ('submitting', 'running')"
_GUILD_RUNNING = "SELECT COUNT(*) FROM jobs WHERE " + _IN_FLIGHT + " AND guild_id = {guild}"  # noqa: S608
_MEMBER_RUNNING = _GUILD_RUNNING + " AND user_id = {user}"
_SERVABLE = (
    "FROM queue_guilds AS q LEFT JOIN guild_config AS c ON c.guild_id = q.guild_id"
    " WHERE q.speed = ? AND q.active AND (COALESCE(c.max_running_per_guild, ?) = 0"
    f" OR ({_GUILD_RUNNING.format(guild='q.guild_id')}) < COALESCE(c.max_running_per_guild, ?))"
)
"""A class's guilds with jobs waiting (or maybe: ``active``) that are below their limit."""
_TRY_GUILD_LOCK = "pg_try_advisory_xact_lock(?, hashtext(current_schema() || ' ' || guild_id))"
_LIMITS = (
    "COALESCE(c.max_running_per_user, ?) AS per_user,"
    " COALESCE(c.max_running_per_guild, ?) AS per_guild"
)

_QUEUED_OF = (
    "EXISTS (SELECT 1 FROM jobs WHERE state = 'queued' AND guild_id = {guild}"
    " AND user_id = {user} AND speed = {speed})"
)
_HAS_JOBS = _QUEUED_OF.format(guild="ids.guild_id", user="waiting.user_id", speed="waiting.speed")

_LINES = (
    "SELECT g.guild_id, g.per_user, g.per_guild, g.running, g.members,"  # noqa: S608 (constants)
    " m.user_id, j.ids, j.weights, j.more, m.running"
    f" FROM (SELECT ids.guild_id, {_LIMITS},"
    f"  ({_GUILD_RUNNING.format(guild='ids.guild_id')}) AS running,"
    "  (SELECT COUNT(*) FROM (SELECT 1 FROM queue_members AS waiting"
    "   WHERE waiting.speed = ? AND waiting.guild_id = ids.guild_id AND waiting.active"
    f"   AND {_HAS_JOBS}"
    "   LIMIT ? + 1) AS counted) AS members"
    "  FROM unnest(?::bigint[]) AS ids(guild_id)"
    "  LEFT JOIN guild_config AS c ON c.guild_id = ids.guild_id OFFSET 0) AS g"
    " LEFT JOIN LATERAL (SELECT user_id, turn, running FROM (SELECT user_id, turn,"
    f"   ({_MEMBER_RUNNING.format(guild='g.guild_id', user='line.user_id')}) AS running"
    "   FROM queue_members AS line WHERE speed = ? AND guild_id = g.guild_id AND active"
    f"   AND {_QUEUED_OF.format(guild='g.guild_id', user='line.user_id', speed='line.speed')}"
    "   ORDER BY turn) AS everyone WHERE running < g.per_user LIMIT ?) AS m ON TRUE"
    f" LEFT JOIN LATERAL ({_heads('g.guild_id', 'm.user_id')}) AS j ON m.user_id IS NOT NULL"
    " ORDER BY g.guild_id, m.turn"
)
"""Each guild's limits, count in flight and members with jobs waiting (counted up to one more
than are read), and its first members in line who have jobs waiting and may start (below
their running limit), with their head jobs and counts in flight. A member whose jobs all
went (cancelled) is passed over; the claim that empties the guild clears the whole line."""

_RELAX_HEADS = (
    "SELECT m.guild_id, g.per_user, g.per_guild, g.running, 0,"  # noqa: S608 (constants)
    " m.user_id, j.ids, j.weights, j.more,"
    f" ({_MEMBER_RUNNING.format(guild='m.guild_id', user='m.user_id')}), u.value, u.at"
    " FROM unnest(?::bigint[], ?::bigint[]) AS m(guild_id, user_id)"
    f" CROSS JOIN LATERAL (SELECT {_LIMITS},"
    f"  ({_GUILD_RUNNING.format(guild='m.guild_id')}) AS running"
    "  FROM (SELECT 1) AS one LEFT JOIN guild_config AS c ON c.guild_id = m.guild_id) AS g"
    " LEFT JOIN relax_usage AS u ON u.user_id = m.user_id"
    f" CROSS JOIN LATERAL ({_heads('m.guild_id', 'm.user_id')}) AS j"
)
"""Relax members' limits and counts in flight, their head jobs and their usage."""
