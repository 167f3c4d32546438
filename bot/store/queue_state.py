"""The scheduling policy's state in PostgreSQL, shared by every process that dispatches.

The tables (migration 0008): ``queue_guilds``, the ring of guilds waiting in each of the turbo
and fast classes with their deficit round-robin state; ``queue_members``, each member's place
in their guild's line per class; ``relax_usage``, each member's decaying relax usage. The
policy that reads and moves them is ``bot.jobs.shared_queue``; this module is its SQL.

How two processes stay out of each other's way, and never strand a waiting job:

- A claim locks the ring rows it serves with ``FOR UPDATE SKIP LOCKED``: another process's
  claim passes over them to the next guilds instead of waiting. It then takes a guild lock
  (``pg_try_advisory_xact_lock``, skipped when taken) for each, so that two claims in two
  classes never count one guild's running limits at once.
- Whatever queues a job (a new one, or one handed back) calls ``activate`` in its own
  transaction, upserting the guild's ring row first, then the member's row. If a claim holds
  that ring row, the upsert waits for it to commit and then marks the guild active again;
  the claim's statements, all run after it took the row, never saw the new job. So a claim
  that clears ``active`` (it took the last job it could see) cannot hide a job queued beside it.
- Relax has no ring: a claim locks the members' rows it serves, with ``SKIP LOCKED`` too.

PostgreSQL only (arrays, advisory locks, sequences): SQLite dispatches from one process's
memory (``bot.jobs.policy``) and has no such tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.model import SpeedMode
from bot.store.database import Row, Transaction

# Advisory lock classes beside the store's own ("TESS", "TESS" + 1): "TESS" + 2 and + 3.
GUILD_LOCK = 0x54455355
ENDPOINT_LOCK = 0x54455356
TURNS_PER_BLOCK = 1_000_000
"""``queue_turns`` counts in blocks of this many (migration 0008): one ``nextval`` gives a
claim the places it hands out, in order."""

_QUEUED = "'queued'"  # a constant, not a parameter: it selects the partial jobs_queued_member
_TRY_GUILD_LOCK = "pg_try_advisory_xact_lock(?, hashtext(current_schema() || ' ' || guild_id))"
_IN_FLIGHT = "finished_at IS NULL AND state IN ('submitting', 'running')"


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
class HeadJobs:
    """A member's first waiting jobs of one class, oldest first (``more``: others follow)."""

    guild_id: int
    user_id: int
    jobs: tuple[tuple[int, int], ...]
    """(job id, weight) of each."""
    more: bool
    running: int = 0
    """The member's jobs in flight, over every process (read with ``lines``)."""
    guild_running: int = 0
    """The guild's jobs in flight, over every process (read with ``lines``)."""
    usage: tuple[float, float] | None = None
    """Relax only: (usage, when it was last charged); None if never."""


@dataclass(frozen=True, slots=True)
class GuildMove:
    """A guild's ring state after a claim.

    ``turn``: its order among the places this claim gives out (0, 1, ...: the back of the
    ring, in that order); None: it keeps its place.
    """

    guild_id: int
    deficit: int
    granted: bool
    turn: int | None
    active: bool


@dataclass(frozen=True, slots=True)
class MemberMove:
    """A member's line state after a claim (``turn`` as ``GuildMove.turn``)."""

    guild_id: int
    user_id: int
    turn: int | None
    active: bool


class QueueState:
    """Reads and writes the shared queue's tables inside a caller's transaction."""

    async def activate(
        self, tx: Transaction, waiting: Iterable[tuple[SpeedMode, int, int]]
    ) -> None:
        """Jobs of these (speed, guild, member) were queued in ``tx``: they wait in the rings.

        A guild or member not waiting yet joins at the back; one already waiting keeps its
        place. Rows are written in key order, so two transactions never lock them crosswise.
        """
        members = sorted({(speed.value, guild, user) for speed, guild, user in waiting})
        guilds = sorted({(speed, guild) for speed, guild, _ in members if speed != "relax"})
        if guilds:
            await tx.execute(
                "INSERT INTO queue_guilds AS q (speed, guild_id, turn)"
                " SELECT speed, guild_id, nextval('queue_turns')"
                " FROM unnest(?::text[], ?::bigint[]) AS v(speed, guild_id)"
                " ON CONFLICT (speed, guild_id) DO UPDATE SET active = TRUE,"
                " turn = CASE WHEN q.active THEN q.turn ELSE EXCLUDED.turn END,"
                " deficit = CASE WHEN q.active THEN q.deficit ELSE 0 END,"
                " granted = q.active AND q.granted",
                ([speed for speed, _ in guilds], [guild for _, guild in guilds]),
            )
        if members:
            await tx.execute(
                "INSERT INTO queue_members AS q (speed, guild_id, user_id, turn)"
                " SELECT speed, guild_id, user_id, nextval('queue_turns')"
                " FROM unnest(?::text[], ?::bigint[], ?::bigint[]) AS v(speed, guild_id, user_id)"
                " ON CONFLICT (speed, guild_id, user_id) DO UPDATE SET active = TRUE,"
                " turn = CASE WHEN q.active THEN q.turn ELSE EXCLUDED.turn END",
                (
                    [speed for speed, _, _ in members],
                    [guild for _, guild, _ in members],
                    [user for _, _, user in members],
                ),
            )

    async def begin(self, tx: Transaction, endpoint: str | None = None) -> ClaimStart:
        """Which classes have anyone waiting, and the jobs in flight at ``endpoint`` (if any).

        Run after ``lock_endpoint``: the count then includes every claim there before.
        """
        row = await tx.fetch_one(
            "SELECT EXISTS (SELECT 1 FROM queue_guilds WHERE speed = 'turbo' AND active),"
            " EXISTS (SELECT 1 FROM queue_guilds WHERE speed = 'fast' AND active),"
            " EXISTS (SELECT 1 FROM queue_members WHERE speed = 'relax' AND active),"
            " (SELECT COUNT(*) FROM jobs WHERE finished_at IS NULL AND endpoint = ?"
            " AND state IN ('submitting', 'running'))",
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

    async def ring(self, tx: Transaction, speed: SpeedMode, limit: int) -> list[RingGuild]:
        """The first ``limit`` guilds of a class's ring no other claim holds, in ring order.

        Their rows are locked; each guild's lock is tried too (``mine``: taken), in the same
        round trip: only for the rows the claim got, as the lock is tried outside the CTE.
        """
        rows = await tx.fetch_all(
            "WITH head AS MATERIALIZED (SELECT guild_id, deficit, granted, turn"  # noqa: S608
            " FROM queue_guilds WHERE speed = ? AND active ORDER BY turn LIMIT ?"
            f" FOR UPDATE SKIP LOCKED) SELECT guild_id, deficit, granted, {_TRY_GUILD_LOCK}"
            " FROM head ORDER BY turn",
            (speed.value, limit, GUILD_LOCK),
        )
        return [RingGuild(int(row[0]), int(row[1]), bool(row[2]), bool(row[3])) for row in rows]

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
        *,
        members: int,
        depth: int,
    ) -> list[HeadJobs]:
        """Each guild's first ``members`` waiting members in line order, ``depth`` jobs each.

        With each member's and guild's jobs in flight: run after the guilds' locks were taken,
        the counts include every claim that committed before.
        """
        rows = await tx.fetch_all(
            _LINES, (list(guild_ids), speed.value, members, depth, speed.value, depth)
        )
        return [_head_jobs(row, running=int(row[5]), guild_running=int(row[6])) for row in rows]

    async def relax_lines(self, tx: Transaction, *, members: int, depth: int) -> list[HeadJobs]:
        """The relax members with the least usage first (then the oldest head job); locked."""
        rows = await tx.fetch_all(
            "SELECT m.guild_id, m.user_id, j.ids, j.weights, j.more, u.value, u.at"  # noqa: S608
            " FROM queue_members AS m LEFT JOIN relax_usage AS u ON u.user_id = m.user_id"
            f" CROSS JOIN LATERAL ({_heads('m.guild_id', 'm.user_id')}) AS j"
            " WHERE m.speed = 'relax' AND m.active"
            " ORDER BY u.rank ASC NULLS FIRST, j.ids[1] ASC NULLS FIRST"
            " LIMIT ? FOR UPDATE OF m SKIP LOCKED",
            (depth, SpeedMode.RELAX.value, depth, members),
        )
        return [
            _head_jobs(row, usage=None if row[5] is None else (float(row[5]), float(row[6])))
            for row in rows
        ]

    async def move(
        self,
        tx: Transaction,
        speed: SpeedMode,
        guilds: Sequence[GuildMove] = (),
        members: Sequence[MemberMove] = (),
    ) -> None:
        """Write the ring and line state a claim left (rows it holds), in one statement.

        The places given out (``turn`` 0, 1, ...) follow one ``nextval``: behind every place
        handed out before, in the claim's order.
        """
        if not guilds and not members:
            return
        members = sorted(members, key=lambda move: (move.guild_id, move.user_id))
        await tx.execute(
            "WITH block AS MATERIALIZED (SELECT nextval('queue_turns') AS base),"
            " guilds AS (UPDATE queue_guilds AS q SET deficit = v.deficit, granted = v.granted,"
            "  turn = COALESCE(block.base + v.turn, q.turn), active = v.active"
            "  FROM block, unnest(?::bigint[], ?::bigint[], ?::boolean[], ?::bigint[],"
            "  ?::boolean[]) AS v(guild_id, deficit, granted, turn, active)"
            "  WHERE q.speed = ? AND q.guild_id = v.guild_id RETURNING 1)"
            " UPDATE queue_members AS q SET turn = COALESCE(block.base + v.turn, q.turn),"
            " active = v.active FROM block, unnest(?::bigint[], ?::bigint[], ?::bigint[],"
            " ?::boolean[]) AS v(guild_id, user_id, turn, active)"
            " WHERE q.speed = ? AND q.guild_id = v.guild_id AND q.user_id = v.user_id",
            (
                [move.guild_id for move in guilds],
                [move.deficit for move in guilds],
                [move.granted for move in guilds],
                [move.turn for move in guilds],
                [move.active for move in guilds],
                speed.value,
                [move.guild_id for move in members],
                [move.user_id for move in members],
                [move.turn for move in members],
                [move.active for move in members],
                speed.value,
            ),
        )

    async def charge_relax(
        self, tx: Transaction, charges: dict[int, int], *, now: float, half_life: float
    ) -> None:
        """Add each member's relax slots (weight) to their decaying usage, as of ``now``.

        The decay happens here, in one statement, so two processes charging one member at
        once both count. rank = log2(usage) + at / half_life orders members as their usage
        would at any later moment (``bot.jobs.relax`` explains why).
        """
        if not charges:
            return
        users = sorted(charges)
        decayed = (
            "q.value * power(0.5, GREATEST(0, EXCLUDED.at - q.at) / ?::float8) + EXCLUDED.value"
        )
        await tx.execute(
            "INSERT INTO relax_usage AS q (user_id, value, at, rank)"  # noqa: S608 (constant)
            " SELECT user_id, value, ?::float8, ln(value) / ln(2) + ?::float8 / ?::float8"
            " FROM unnest(?::bigint[], ?::float8[]) AS v(user_id, value)"
            f" ON CONFLICT (user_id) DO UPDATE SET value = {decayed},"
            " at = GREATEST(q.at, EXCLUDED.at),"
            f" rank = ln({decayed}) / ln(2) + GREATEST(q.at, EXCLUDED.at) / ?::float8",
            (
                now,
                now,
                half_life,
                users,
                [float(charges[user]) for user in users],
                half_life,
                half_life,
                half_life,
            ),
        )

    async def waiting_by_speed(self, tx: Transaction) -> dict[SpeedMode, int]:
        """How many jobs wait in each class, over every process (the metrics' queue depth)."""
        rows = await tx.fetch_all(
            "SELECT speed, COUNT(*) FROM jobs WHERE finished_at IS NULL AND state = 'queued'"
            " GROUP BY speed"
        )
        counts = dict.fromkeys(SpeedMode, 0)
        counts.update({SpeedMode(row[0]): int(row[1]) for row in rows})
        return counts


def _heads(guild: str, user: str) -> str:
    """A member's first ``?`` waiting jobs of class ``?`` as arrays, and whether more follow.

    ``guild`` and ``user`` name the outer query's columns; the parameters are the depth, the
    speed and the depth again.
    """
    return (
        "SELECT array_agg(id ORDER BY id) AS ids, array_agg(weight ORDER BY id) AS weights,"  # noqa: S608 (column names from this module, ? marks)
        f" COUNT(*) > ? AS more FROM (SELECT id, weight FROM jobs WHERE state = {_QUEUED}"
        f" AND guild_id = {guild} AND user_id = {user} AND speed = ? ORDER BY id LIMIT ? + 1)"
        " AS head"
    )


def _head_jobs(
    row: Row,
    *,
    running: int = 0,
    guild_running: int = 0,
    usage: tuple[float, float] | None = None,
) -> HeadJobs:
    ids = [int(job_id) for job_id in row[2] or ()]
    weights = [max(1, int(weight)) for weight in row[3] or ()]
    more = bool(row[4])
    jobs = tuple(zip(ids, weights, strict=True))
    return HeadJobs(
        guild_id=int(row[0]),
        user_id=int(row[1]),
        jobs=jobs[:-1] if more else jobs,
        more=more,
        running=running,
        guild_running=guild_running,
        usage=usage,
    )


_LINES = (
    "SELECT g.guild_id, m.user_id, j.ids, j.weights, j.more,"  # noqa: S608 (constants)
    f" (SELECT COUNT(*) FROM jobs WHERE {_IN_FLIGHT} AND guild_id = g.guild_id"
    "  AND user_id = m.user_id), g.running"
    " FROM (SELECT guild_id, (SELECT COUNT(*) FROM jobs"
    f"  WHERE {_IN_FLIGHT} AND guild_id = ids.guild_id) AS running"
    "  FROM unnest(?::bigint[]) AS ids(guild_id) OFFSET 0) AS g"  # OFFSET: once a guild
    " CROSS JOIN LATERAL (SELECT user_id, turn FROM queue_members"
    "  WHERE speed = ? AND guild_id = g.guild_id AND active ORDER BY turn LIMIT ?) AS m"
    f" CROSS JOIN LATERAL ({_heads('g.guild_id', 'm.user_id')}) AS j"
    " ORDER BY g.guild_id, m.turn"
)
"""Each guild's first members in line with their head jobs, and the jobs in flight of each."""
