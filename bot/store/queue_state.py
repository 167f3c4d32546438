"""The scheduling policy's state in PostgreSQL, shared by every process that dispatches.

The tables (migration 0008): ``queue_guilds``, the ring of guilds waiting in each of the turbo
and fast classes with their deficit round-robin state; ``queue_members``, each member's place
in their guild's line per class (and, for relax, their usage rank); ``relax_usage``, each
member's decaying relax usage. The policy that reads and moves them is
``bot.jobs.shared_queue``; this module writes them, ``bot.store.queue_reads`` reads them.

How two processes stay out of each other's way, and never strand a waiting job:

- A claim locks the rows it serves with ``FOR UPDATE SKIP LOCKED`` (a class's ring of guilds;
  for relax, the members): another process's claim passes over them to the next ones instead
  of waiting. It then tries each guild's lock (``pg_try_advisory_xact_lock``, passed over when
  taken), so that two claims in two classes never count one guild's running limits at once.
- Whatever queues a job (a new one, or one handed back) calls ``activate`` in its own
  transaction, upserting the guild's ring row first, then the member's row. If a claim holds
  one of them, the upsert waits for the claim to commit, then marks it active again.
- A claim reads the waiting jobs only in statements after the one that locked the rows, so
  each such read sees every job whose queueing committed before the lock. A claim that clears
  ``active`` (it took the last job it could see) therefore cannot hide a job queued beside it.
- The reads that choose whom to lock (``ring``, ``relax_members``) also pass over members and
  guilds at a running limit, so a line full of busy members does not hide one who could
  start. They are a filter only: the counts that decide are read after the guilds' locks.

- A claim writes its moves before it moves its jobs to submitting; every other transaction
  that touches both locks a job first, then queue rows (queueing, handing back), or never
  waits for a queue row at all (a cancel). No two transactions wait for each other in a ring.

PostgreSQL only (arrays, advisory locks, sequences): SQLite dispatches from one process's
memory (``bot.jobs.policy``) and has no such tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.model import SpeedMode
from bot.store.database import Transaction
from bot.store.queue_reads import QueueReads

TURNS_PER_BLOCK = 1_000_000
"""``queue_turns`` counts in blocks of this many (migration 0008): one ``nextval`` gives a
claim the places it hands out, in order."""


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


class QueueState(QueueReads):
    """Reads and writes the shared queue's tables inside a caller's transaction."""

    async def activate(
        self,
        tx: Transaction,
        waiting: Iterable[tuple[SpeedMode, int, int, int]],
        *,
        front: bool = False,
    ) -> None:
        """Jobs of these (speed, guild, member, weight) were queued in ``tx``: they wait.

        A guild or member not waiting yet joins at the back; one already waiting keeps its
        place. ``front`` (jobs handed back unstarted): one not waiting joins at the front
        instead, and the guild gets back the weight it spent on them, as the in-memory
        policy's ``requeue`` does. Rows are written in key order, so two transactions never
        lock them crosswise.
        """
        refunds: dict[tuple[str, int], int] = {}
        members: set[tuple[str, int, int]] = set()
        for speed, guild, user, weight in waiting:
            members.add((speed.value, guild, user))
            if speed is not SpeedMode.RELAX:
                key = (speed.value, guild)
                refunds[key] = refunds.get(key, 0) + (weight if front else 0)
        guilds = sorted(refunds)
        lines = sorted(members)
        place = "(SELECT MIN(turn) - 1 FROM {table} WHERE speed = v.speed AND active{line})"
        new_turn = "nextval('queue_turns')"
        if guilds:
            turn = f"COALESCE({place.format(table='queue_guilds', line='')}, {new_turn})"
            await tx.execute(
                "INSERT INTO queue_guilds AS q (speed, guild_id, turn, deficit)"  # noqa: S608
                f" SELECT speed, guild_id, {turn if front else new_turn}, refund"
                " FROM unnest(?::text[], ?::bigint[], ?::bigint[]) AS v(speed, guild_id, refund)"
                " ORDER BY speed, guild_id"
                " ON CONFLICT (speed, guild_id) DO UPDATE SET active = TRUE,"
                " turn = CASE WHEN q.active THEN q.turn ELSE EXCLUDED.turn END,"
                " deficit = CASE WHEN q.active THEN q.deficit ELSE 0 END + EXCLUDED.deficit,"
                " granted = q.active AND q.granted"
                # Already waiting, nothing given back: no new row version, no index entry.
                " WHERE NOT q.active OR EXCLUDED.deficit <> 0",
                (
                    [speed for speed, _ in guilds],
                    [guild for _, guild in guilds],
                    [refunds[key] for key in guilds],
                ),
            )
        if lines:
            line = " AND guild_id = v.guild_id"
            turn = f"COALESCE({place.format(table='queue_members', line=line)}, {new_turn})"
            await tx.execute(
                "INSERT INTO queue_members AS q (speed, guild_id, user_id, turn, rank)"  # noqa: S608
                f" SELECT speed, guild_id, user_id, {turn if front else new_turn},"
                " (SELECT rank FROM relax_usage WHERE relax_usage.user_id = v.user_id)"
                " FROM unnest(?::text[], ?::bigint[], ?::bigint[]) AS v(speed, guild_id, user_id)"
                " ORDER BY speed, guild_id, user_id"
                " ON CONFLICT (speed, guild_id, user_id) DO UPDATE SET active = TRUE,"
                " turn = CASE WHEN q.active THEN q.turn ELSE EXCLUDED.turn END,"
                " rank = EXCLUDED.rank"
                " WHERE NOT q.active OR q.rank IS DISTINCT FROM EXCLUDED.rank",
                _columns(lines),
            )

    async def leave(self, tx: Transaction, gone: Iterable[tuple[SpeedMode, int, int]]) -> None:
        """Jobs of these (speed, guild, member) stopped waiting: who has none left leaves.

        Cancelled, or moved to another class. So a member who queues again later joins at the
        back, not at their old place. A line a claim holds now is passed over: that claim
        writes it, and one left waiting with nothing is passed over by claims until its guild
        empties.
        """
        keys = sorted({(speed.value, guild, user) for speed, guild, user in gone})
        if not keys:
            return
        await tx.execute(
            "UPDATE queue_members AS q SET active = FALSE"
            " FROM unnest(?::text[], ?::bigint[], ?::bigint[]) AS v(speed, guild_id, user_id)"
            " WHERE q.speed = v.speed AND q.guild_id = v.guild_id AND q.user_id = v.user_id"
            " AND q.active AND NOT EXISTS (SELECT 1 FROM jobs WHERE state = 'queued'"
            "  AND guild_id = q.guild_id AND user_id = q.user_id AND speed = q.speed)"
            " AND (q.speed, q.guild_id, q.user_id) IN (SELECT speed, guild_id, user_id"
            "  FROM queue_members AS free WHERE free.speed = v.speed"
            "  AND free.guild_id = v.guild_id AND free.user_id = v.user_id"
            "  FOR UPDATE SKIP LOCKED)",
            _columns(keys),
        )

    async def rebuild(self, tx: Transaction) -> int:
        """Put every waiting job's guild and member in line (recovery); how many members.

        Queueing keeps the rows right; this repairs what a process of an older release, which
        queued jobs without them, left behind.
        """
        # Only the missing ones: an upsert would lock every row, and claims would pass over
        # them all while this transaction lasts.
        rows = await tx.fetch_all(
            "SELECT speed, guild_id, user_id, MIN(id) FROM jobs AS j WHERE state = 'queued'"
            " AND (NOT EXISTS (SELECT 1 FROM queue_members AS m WHERE m.speed = j.speed"
            "  AND m.guild_id = j.guild_id AND m.user_id = j.user_id AND m.active)"
            " OR (speed <> 'relax' AND NOT EXISTS (SELECT 1 FROM queue_guilds AS g"
            "  WHERE g.speed = j.speed AND g.guild_id = j.guild_id AND g.active)))"
            " GROUP BY speed, guild_id, user_id ORDER BY MIN(id)"
        )
        await self.activate(tx, [(SpeedMode(row[0]), int(row[1]), int(row[2]), 0) for row in rows])
        return len(rows)

    async def move(
        self,
        tx: Transaction,
        speed: SpeedMode,
        guilds: Sequence[GuildMove] = (),
        members: Sequence[MemberMove] = (),
    ) -> None:
        """Write the ring and line state a claim left (rows it holds), in one statement."""
        moving = self.moves(speed, guilds, members)
        if moving is not None:
            await tx.execute(f"{moving[0]} SELECT 1", moving[1])

    def moves(
        self,
        speed: SpeedMode,
        guilds: Sequence[GuildMove] = (),
        members: Sequence[MemberMove] = (),
    ) -> tuple[str, list[Any]] | None:
        """``move`` as the ``WITH`` clauses of a statement (the claim's move of its jobs).

        The places given out (``turn`` 0, 1, ...) follow one ``nextval``: behind every place
        handed out before, in the claim's order. None when nothing moves.
        """
        if not guilds and not members:
            return None
        members = sorted(members, key=lambda move: (move.guild_id, move.user_id))
        sql = (
            "WITH block AS MATERIALIZED (SELECT nextval('queue_turns') AS base),"
            " guilds AS (UPDATE queue_guilds AS q SET deficit = v.deficit, granted = v.granted,"
            "  turn = COALESCE(block.base + v.turn, q.turn), active = v.active"
            "  FROM block, unnest(?::bigint[], ?::bigint[], ?::boolean[], ?::bigint[],"
            "  ?::boolean[]) AS v(guild_id, deficit, granted, turn, active)"
            "  WHERE q.speed = ? AND q.guild_id = v.guild_id RETURNING q.guild_id, q.active),"
            # An emptied guild's line goes with it: members the claim passed over (their jobs
            # all cancelled) too. The guild's row is this claim's, so nobody queues there now.
            " cleared AS (UPDATE queue_members AS q SET active = FALSE FROM guilds"
            "  WHERE q.speed = ? AND q.guild_id = guilds.guild_id AND NOT guilds.active"
            "  AND q.active RETURNING 1),"
            " members AS (UPDATE queue_members AS q"
            "  SET turn = COALESCE(block.base + v.turn, q.turn), active = v.active"
            "  FROM block, unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::boolean[])"
            "  AS v(guild_id, user_id, turn, active)"
            "  WHERE q.speed = ? AND q.guild_id = v.guild_id AND q.user_id = v.user_id"
            "  RETURNING 1)"
        )
        return sql, [
            [move.guild_id for move in guilds],
            [move.deficit for move in guilds],
            [move.granted for move in guilds],
            [move.turn for move in guilds],
            [move.active for move in guilds],
            speed.value,
            speed.value,
            [move.guild_id for move in members],
            [move.user_id for move in members],
            [move.turn for move in members],
            [move.active for move in members],
            speed.value,
        ]

    async def charge_relax(
        self, tx: Transaction, charges: dict[int, int], *, now: float, half_life: float
    ) -> None:
        """Add each member's relax slots (weight) to their decaying usage, as of ``now``.

        The decay happens here, in one statement, so two processes charging one member at
        once both count. rank = log2(usage) + at / half_life orders members as their usage
        would at any later moment (``bot.jobs.relax`` explains why); it is copied to the
        member's relax lines, but not to a line another claim holds now (that claim charges
        the member too, after this one, and copies the newer rank).
        """
        if not charges:
            return
        users = sorted(charges)
        decayed = (
            "q.value * power(0.5, GREATEST(0, EXCLUDED.at - q.at) / ?::float8) + EXCLUDED.value"
        )
        await tx.execute(
            "WITH charged AS (INSERT INTO relax_usage AS q (user_id, value, at, rank)"  # noqa: S608
            " SELECT user_id, value, ?::float8, ln(value) / ln(2) + ?::float8 / ?::float8"
            " FROM unnest(?::bigint[], ?::float8[]) AS v(user_id, value) ORDER BY user_id"
            f" ON CONFLICT (user_id) DO UPDATE SET value = {decayed},"
            " at = GREATEST(q.at, EXCLUDED.at),"
            f" rank = ln({decayed}) / ln(2) + GREATEST(q.at, EXCLUDED.at) / ?::float8"
            " RETURNING user_id, rank)"
            " UPDATE queue_members AS m SET rank = charged.rank FROM charged"
            " WHERE m.speed = 'relax' AND m.user_id = charged.user_id"
            " AND (m.guild_id, m.user_id) IN (SELECT guild_id, user_id FROM queue_members"
            "  WHERE speed = 'relax' AND user_id = charged.user_id FOR UPDATE SKIP LOCKED)",
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
            # Only the partial jobs_queued_member index is read: the state, not finished_at.
            "SELECT speed, COUNT(*) FROM jobs WHERE state = 'queued' GROUP BY speed"
        )
        counts = dict.fromkeys(SpeedMode, 0)
        counts.update({SpeedMode(row[0]): int(row[1]) for row in rows})
        return counts


def _columns(members: Sequence[tuple[str, int, int]]) -> tuple[list[str], list[int], list[int]]:
    """(speed, guild, member) keys as three arrays, for ``unnest``."""
    return (
        [speed for speed, _, _ in members],
        [guild for _, guild, _ in members],
        [user for _, _, user in members],
    )
