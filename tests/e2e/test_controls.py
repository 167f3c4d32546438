"""Quota, relax, cancel and Info, end to end."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from bot.errors import NotAllowed
from bot.model import JobState, SpeedMode
from bot.prompt import parse_prompt
from tests.e2e.world import World, job_id_of, tokens

DEFERRED_CHANNEL_MESSAGE = 5  # Discord's "thinking..." callback type


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
    await world.runtime.services.account.set_speed(
        guild_id=world.guild.id, user_id=world.member.user.id, speed=SpeedMode.RELAX
    )
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


async def test_cancel_a_running_job_stops_it_at_the_provider(world: World) -> None:
    await world.imagine("a spinning top")
    [status] = world.statuses()
    await world.runtime.settle()
    [task] = world.proxy.tasks.values()
    note = await world.answer_of(await world.press(status, "cancel"))
    assert note.content.startswith("Cancelled job #")
    await world.runtime.settle()
    assert world.proxy.count(f"/task/{task.id}/cancel") == 1
    assert "(Cancelled." in status.content
    await world.proxy.complete_all()
    await world.runtime.settle()
    assert [m for m in world.discord.messages.values() if m.attachments] == []


async def test_cancel_answers_at_once_while_the_provider_is_slow(world: World) -> None:
    await world.imagine("a slow hourglass")
    [status] = world.statuses()
    await world.runtime.settle()
    async with world.proxy.holding():
        # The provider has not answered the cancel yet; the press is acknowledged anyway.
        record = await world.press(status, "cancel")
        [first] = record.callbacks
        assert (first.type, first.ephemeral) == (DEFERRED_CHANNEL_MESSAGE, True)
    note = await world.answer_of(record)
    assert note.content.startswith("Cancelled job #")


async def test_draft_grids_offer_enhance(world: World) -> None:
    await world.imagine("a rough sketch --draft")
    await world.run_jobs()
    result = await world.result_for(lambda m: True)
    assert tokens(result.custom_ids())[-2:] == ["enhance", "info"]


async def test_owner_only_button_policy(world: World) -> None:
    await world.runtime.services.guild_config.update(world.guild.id, button_policy="owner")
    await world.imagine("a private garden")
    await world.run_jobs()
    result = await world.result_for(lambda m: True)
    other = world.discord.add_member(world.guild, "carol")
    press = await world.press(result, "u1", other)
    # The press was deferred (silently): the refusal is a followup only the presser sees.
    refused = await world.discord.wait_until(lambda: next(iter(press.followups), None))
    assert refused.ephemeral
    assert "only the person who made a job" in refused.embeds[0]["description"]
    assert world.statuses() == []


async def test_metrics_count_finished_jobs_and_status_edits(world: World) -> None:
    await world.imagine("a counted cloud")
    await world.run_jobs()
    await world.result_for(lambda m: True)
    registry = world.runtime.metrics.registry
    assert registry.get_sample_value("tessera_jobs_finished_total", {"state": "succeeded"}) == 1
    edits = registry.get_sample_value("tessera_discord_message_edits_total", {"outcome": "ok"})
    assert edits is not None
    assert edits >= 1
    polls = registry.get_sample_value(
        "tessera_provider_request_seconds_count", {"operation": "submit/imagine"}
    )
    assert polls == 1


async def test_queue_depth_and_jobs_by_state_are_read_at_scrape_time(world: World) -> None:
    for n in range(4):
        await world.imagine(f"waiting cloud {n}")
    await world.imagine("a relaxed cloud --relax")
    # Three provider slots; the fake holds every task until told: a round fills the slots.
    await world.runtime.services.dispatcher.drain()
    await world.runtime.refresh_metrics()
    registry = world.runtime.metrics.registry
    depth = {
        speed: registry.get_sample_value("tessera_queue_depth", {"speed": speed})
        for speed in ("turbo", "fast", "relax")
    }
    assert depth == {"turbo": 0, "fast": 1, "relax": 1}
    assert registry.get_sample_value("tessera_jobs", {"state": "queued"}) == 2
    assert registry.get_sample_value("tessera_jobs", {"state": "running"}) == 3
    await world.run_jobs()
    await world.runtime.refresh_metrics()
    assert registry.get_sample_value("tessera_queue_depth", {"speed": "fast"}) == 0
    assert registry.get_sample_value("tessera_jobs", {"state": "queued"}) == 0


async def test_a_thread_under_an_allowed_channel_may_make_images(world: World) -> None:
    services = world.runtime.services
    await services.guild_config.add_allowed_channel(world.guild.id, world.channel.id)
    thread_id = world.channel.id + 1000
    submit = functools.partial(
        services.jobs.submit,
        guild_id=world.guild.id,
        channel_id=thread_id,
        user_id=world.member.user.id,
        role_ids=[],
        prompts=[parse_prompt("a thread of silk")],
        speed=SpeedMode.FAST,
    )
    with pytest.raises(NotAllowed):
        await submit()
    [job] = await submit(parent_channel_id=world.channel.id)
    assert job.channel_id == thread_id


async def test_a_cancel_while_the_result_downloads_wins(world: World) -> None:
    services = world.runtime.services
    await world.imagine("a vanishing trick")
    [status] = world.statuses()
    job_id = job_id_of(status.custom_ids())
    await world.runtime.settle()
    await world.proxy.complete_all()
    download = services.provider.download

    async def cancel_then_download(url: str, *, max_bytes: int) -> Any:
        # The member presses Cancel after the task finished, before the result is posted.
        await services.jobs.cancel(job_id, user_id=world.member.user.id)
        return await download(url, max_bytes=max_bytes)

    services.provider.download = cancel_then_download  # type: ignore[method-assign]
    await world.runtime.settle()
    job = await services.jobs.get(job_id)
    assert (job.state, job.failure_kind) == (JobState.CANCELLED, None)
    assert [m for m in world.discord.messages.values() if m.attachments] == []
    kinds = [e.kind for e in await services.quota.ledger(guild_id=world.guild.id)]
    assert sorted(kinds) == ["refund", "reserve"]
    assert "(Cancelled." in status.content
