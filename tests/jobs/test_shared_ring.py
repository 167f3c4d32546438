"""Deficit round-robin over what one claim read of a ring (no database: the rows as read)."""

from collections import deque

from bot.jobs.shared_ring import Claim, Guild, Member, round_robin
from bot.model import SpeedMode
from bot.store.queue_reads import GuildLine, HeadJobs


def guild(guild_id: int, *jobs_by_member: list[tuple[int, int]], deficit: int = 0) -> Guild:
    """A guild whose members (user ids 1, 2, ...) wait with these (job id, weight) jobs."""
    members = [
        Member(guild_id, user, deque(jobs), more=False)
        for user, jobs in enumerate(jobs_by_member, start=1)
    ]
    return Guild(guild_id, deficit, False, list(members), len(members), members)


def claim_with(guilds: list[Guild], per_user: int = 10) -> Claim:
    claim = Claim()
    claim.running.seed(
        [GuildLine(g.guild_id, per_user, 0, 0, len(g.members)) for g in guilds],
        [HeadJobs(m.guild_id, m.user_id, (), False, 0) for g in guilds for m in g.members],
    )
    return claim


def picked(
    guilds: list[Guild], count: int, *, seen_all: bool = True, per_user: int = 10
) -> list[int]:
    claim = claim_with(guilds, per_user)
    entries = round_robin(guilds, SpeedMode.FAST, count, claim, seen_all=seen_all, quantum=1000)
    return [entry.job_id for entry in entries]


def test_guilds_take_turns_and_members_inside_them() -> None:
    a = guild(1, [(11, 1000), (12, 1000)], [(13, 1000)])
    b = guild(2, [(21, 1000), (22, 1000)])
    assert picked([a, b], 5) == [11, 21, 13, 22, 12]


def test_a_heavy_job_waits_until_its_guild_has_earned_it() -> None:
    heavy = guild(1, [(11, 2000)])
    light = guild(2, [(21, 1000), (22, 1000), (23, 1000)])
    assert picked([heavy, light], 3) == [21, 11, 22]


def test_a_guild_that_gives_its_turn_up_leaves_a_claim_that_has_not_read_the_whole_ring() -> None:
    a = guild(1, [(11, 1000), (12, 1000)])
    b = guild(2, [(21, 1000), (22, 1000)])
    assert picked([a, b], 4, seen_all=False) == [11, 21]
    assert a.turn is not None
    assert b.turn is not None
    assert a.turn < b.turn  # both to the back, in the order they gave their turns up


def test_a_member_at_their_running_limit_lets_the_next_one_start() -> None:
    a = guild(1, [(11, 1000), (12, 1000)], [(13, 1000)])
    assert picked([a], 3, per_user=1) == [11, 13]


def test_an_emptied_guild_leaves_the_ring_with_no_deficit() -> None:
    a = guild(1, [(11, 500)], deficit=200)
    assert picked([a], 3) == [11]
    move = a.move()
    assert (move.active, move.deficit, move.granted) == (False, 0, False)
