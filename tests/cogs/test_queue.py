"""/queue and /cancel: the real bot against the fake Discord, jobs queued by the JobService."""

from __future__ import annotations

import pytest

from bot.model import JobState
from tests.cogs.test_account import World, embed_fields, world
from tests.fakes.discord import FakeMessage

__all__ = ["world"]


async def member_used(world: World) -> int:
    balance = await world.services.quota.balance(
        guild_id=world.guild.id, user_id=world.member.id, role_ids=[]
    )
    return balance.member_used + balance.member_reserved


async def test_queue_without_jobs(world: World) -> None:
    callback = await world.answer("queue")
    assert callback.ephemeral
    fields = embed_fields(callback)
    assert fields["Your jobs"] == "You have no waiting or running jobs."
    assert fields["Waiting in this server"] == "none"


async def test_queue_lists_jobs_escaped_with_positions_and_counts(world: World) -> None:
    await world.submit("someone else's job", user=world.moderator)
    first, second = await world.submit("a **bold** <@123> fox", count=2)

    fields = embed_fields(await world.answer("queue"))

    mine = fields["Your jobs"]
    assert f"`#{first}` fast · waiting, position 2" in mine
    assert f"`#{second}` fast · waiting, position 3" in mine
    assert "\\*\\*bold\\*\\*" in mine
    assert "<@123>" not in mine
    assert "someone else" not in mine
    assert fields["Waiting in this server"] == "3 fast"
    assert fields["Running in this server"] == "none"


async def answered(world: World, options: dict[str, int] | None = None) -> FakeMessage:
    """Run /cancel; it defers (the provider may be asked), so wait for the filled-in answer."""
    record = await world.slash("cancel", options)
    deferred = await record.response()
    assert deferred.type == 5
    assert deferred.ephemeral
    await world.discord.wait_until(lambda: record.original and not record.original.loading)
    assert record.original is not None
    return record.original


async def test_cancel_without_id_cancels_the_newest_and_refunds(world: World) -> None:
    older, newer = await world.submit("a fox", count=2)
    assert await member_used(world) == 2000

    answer = await answered(world)

    assert answer.content == f"Job `#{newer}` is cancelled. Its credits were refunded (1)."
    assert (await world.services.jobs.get(newer)).state is JobState.CANCELLED
    assert (await world.services.jobs.get(older)).state is JobState.QUEUED
    assert await member_used(world) == 1000


async def test_cancel_by_id(world: World) -> None:
    first, _ = await world.submit("a fox", count=2)
    answer = await answered(world, {"job_id": first})
    assert answer.content.startswith(f"Job `#{first}` is cancelled.")
    assert (await world.services.jobs.get(first)).state is JobState.CANCELLED


@pytest.mark.parametrize("whose", ["unknown", "other", "none"])
async def test_cancel_refusals(world: World, whose: str) -> None:
    options: dict[str, int] = {}
    if whose == "unknown":
        options = {"job_id": 987654}
    elif whose == "other":
        (theirs,) = await world.submit("not yours", user=world.moderator)
        options = {"job_id": theirs}
    description = (await answered(world, options)).embeds[0]["description"]
    if whose == "none":
        assert description == "You have no waiting or running jobs to cancel."
    else:
        assert description == f"You have no job #{options['job_id']}."
    if whose == "other":
        assert (await world.services.jobs.get(options["job_id"])).state is JobState.QUEUED


async def test_cancel_of_a_finished_job_says_so(world: World) -> None:
    (job_id,) = await world.submit("a fox")
    await world.services.jobs.cancel(job_id, user_id=world.member.id)
    answer = await answered(world, {"job_id": job_id})
    assert "already finished" in answer.embeds[0]["description"]


async def test_cancel_autocomplete_offers_active_jobs_newest_first(world: World) -> None:
    first, second = await world.submit("a red fox", count=2)
    (third,) = await world.submit("a blue whale")
    await world.services.jobs.cancel(first, user_id=world.member.id)

    async def choices(typed: str) -> list[dict[str, object]]:
        record = await world.discord.invoke_autocomplete(
            world.guild,
            world.channel,
            world.member.user,
            "cancel",
            {"job_id": typed},
            focused="job_id",
        )
        return list((await record.response()).data["choices"])

    everything = await choices("")
    assert [c["value"] for c in everything] == [third, second]
    assert str(everything[0]["name"]).startswith(f"#{third} · waiting · a blue whale")
    assert [c["value"] for c in await choices("whale")] == [third]
    assert [c["value"] for c in await choices(f"#{second}")] == [second]


async def test_a_moderator_cancels_a_members_job_in_their_server_only(world: World) -> None:
    (job_id,) = await world.submit("a fox")
    record = await world.slash("cancel", {"job_id": job_id}, user=world.moderator.user)
    await record.response()
    await world.discord.wait_until(lambda: record.original and not record.original.loading)
    assert record.original is not None
    assert record.original.content.startswith(f"Job `#{job_id}` of <@{world.member.id}> is")
    assert (await world.services.jobs.get(job_id)).state is JobState.CANCELLED
    assert await member_used(world) == 0


async def test_a_moderator_elsewhere_cannot_cancel(world: World) -> None:
    other_guild = world.discord.add_guild("Other")
    other_channel = world.discord.add_channel(other_guild)
    outsider = world.discord.add_moderator(other_guild, "outsider")
    (job_id,) = await world.submit("a fox")
    record = await world.discord.invoke_slash(
        other_guild, other_channel, outsider.user, "cancel", {"job_id": job_id}
    )
    await record.response()
    await world.discord.wait_until(lambda: record.original and not record.original.loading)
    assert record.original is not None
    assert record.original.embeds[0]["description"] == f"You have no job #{job_id}."
    assert (await world.services.jobs.get(job_id)).state is JobState.QUEUED
