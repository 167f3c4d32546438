"""Quota, relax, cancel and Info, end to end."""

from __future__ import annotations

from bot.jobs import JobState
from bot.speed import SpeedMode
from tests.e2e.world import World, job_id_of


async def test_quota_refusal_then_a_moderator_raises_the_allowance(world: World) -> None:
    moderator = world.discord.add_moderator(world.guild)
    alice = world.member

    async def quota(amount: str) -> None:
        record = await world.discord.invoke_slash(
            world.guild,
            world.channel,
            moderator.user,
            "quota set-member",
            {"member": alice, "amount": amount},
        )
        await record.response()
        await world.answer_of(record)

    await quota("0")
    refused = await world.imagine("a castle")
    assert "credit" in refused.embeds[0]["description"].lower()
    assert world.statuses() == []
    assert world.proxy.submissions == []

    await quota("5")
    accepted = await world.imagine("a castle")
    assert accepted.content.startswith("Queued 1 job")
    await world.run_jobs()
    await world.result_for(lambda m: "a castle" in m.content)


async def test_relax_jobs_cost_nothing(world: World) -> None:
    await world.runtime.services.user_settings.set_speed(world.member.user.id, SpeedMode.RELAX)
    await world.imagine("a slow river")
    [status] = world.statuses()
    assert status.content.endswith("(Waiting to start) (relax)")
    await world.run_jobs()
    result = await world.result_for(lambda m: True)
    assert result.content.endswith("(relax)")
    job = await world.runtime.services.jobs.get(job_id_of(result.custom_ids()))
    assert (job.state, job.cost) == (JobState.SUCCEEDED, 0)


async def test_cancel_a_waiting_job_refunds_and_updates_the_status(world: World) -> None:
    await world.imagine("a ship in a bottle")
    [status] = world.statuses()
    job_id = job_id_of(status.custom_ids())

    stranger = world.discord.add_member(world.guild, "mallory")
    refused = await world.press(status, "cancel", stranger)
    refusal = await world.answer_of(refused)
    assert refusal.ephemeral
    assert f"no job #{job_id}" in refusal.embeds[0]["description"]

    press = await world.press(status, "cancel")
    note = await world.answer_of(press)
    assert note.ephemeral
    assert note.content == f"Cancelled job #{job_id}. Your 1 credits were refunded."
    await world.runtime.settle()
    assert "(Cancelled. Your 1 credits were refunded.)" in status.content
    assert status.custom_ids() == []
    assert world.proxy.submissions == []
    kinds = [e.kind for e in await world.runtime.services.quota.ledger(guild_id=world.guild.id)]
    assert sorted(kinds) == ["refund", "reserve"]


async def test_info_is_for_the_owner_only(world: World) -> None:
    await world.imagine("a quiet forest --seed 1234")
    await world.run_jobs()
    result = await world.result_for(lambda m: True)

    own = await world.answer_of(await world.press(result, "info"))
    assert own.ephemeral
    fields = {field["name"]: field["value"] for field in own.embeds[0]["fields"]}
    assert fields["Seed"] == "1234"
    assert fields["Cost"] == "1 credits"
    assert "--seed 1234" in own.embeds[0]["description"]

    other = world.discord.add_member(world.guild, "bob")
    theirs = await world.answer_of(await world.press(result, "info", other))
    assert "Only the person" in theirs.embeds[0]["description"]
