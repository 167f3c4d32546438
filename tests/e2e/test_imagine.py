"""/imagine end to end: the real runtime against fake Discord and a fake midjourney-proxy."""

from __future__ import annotations

import discord

from bot.model import JobState
from tests.e2e.world import GRID_BUTTONS, World, job_id_of, tokens


async def test_imagine_posts_status_then_result_with_grid_buttons(world: World) -> None:
    answer = await world.imagine("a red fox --ar 3:2")
    assert answer.ephemeral
    assert answer.content.startswith("Queued 1 job (#")
    [status] = world.statuses()
    assert status.content.startswith("**a red fox --ar 3:2")
    assert status.content.endswith(f"<@{world.member.user.id}> (Waiting to start) (fast)")
    job_id = job_id_of(status.custom_ids())
    assert tokens(status.custom_ids()) == ["cancel"]

    await world.run_jobs()

    result = await world.result_for(lambda m: True)
    assert tokens(result.custom_ids()) == GRID_BUTTONS
    assert job_id_of(result.custom_ids()) == job_id
    assert result.attachments[0].data.startswith(b"\x89PNG")
    assert result.content.startswith("**a red fox --ar 3:2 --seed ")
    posts = world.discord.requests_to("POST", "/channels/{channel_id}/messages")
    body = posts[-1].body
    assert isinstance(body, dict)
    assert body["message_reference"]["message_id"] == status.id
    await world.discord.wait_until(lambda: "(Done)" in status.content)
    assert status.custom_ids() == []
    job = await world.runtime.services.jobs.get(job_id)
    assert (job.state, job.result_message_id, job.status_message_id) == (
        JobState.SUCCEEDED,
        result.id,
        status.id,
    )
    balance = await world.runtime.services.quota.balance(
        guild_id=world.guild.id, user_id=world.member.user.id, role_ids=[]
    )
    assert balance.lifetime_used == 1000


async def test_upscale_variation_and_reroll_buttons(world: World) -> None:
    await world.imagine("a lighthouse at dusk")
    await world.run_jobs()
    grid = await world.result_for(lambda m: True)
    parent = job_id_of(grid.custom_ids())

    for token, label in (("u2", "Image #2"), ("v1", "Variations (V1)"), ("reroll", "Reroll by")):
        press = await world.press(grid, token)
        first = await press.response()
        assert first.type == discord.InteractionResponseType.deferred_message_update.value
        await world.discord.wait_until(
            lambda label=label: any(label in m.content for m in world.statuses())
        )
        await world.run_jobs()
        child = await world.result_for(lambda m, label=label: label in m.content)
        assert job_id_of(child.custom_ids()) != parent

    upscaled = await world.result_for(lambda m: "Image #2" in m.content)
    single = tokens(upscaled.custom_ids())
    assert "u1" not in single
    assert single[-1] == "info"
    assert {"vary_subtle", "vary_strong", "zoom_out_2x"} <= set(single)


async def test_an_upscale_pressed_again_links_to_its_result_without_a_charge(
    world: World,
) -> None:
    # Issue #11, finding 6: the provider answered "already exists" and the bot posted the
    # same image again and charged for it again.
    await world.imagine("a copper kettle")
    await world.run_jobs()
    grid = await world.result_for(lambda m: True)
    await world.press(grid, "u1")
    await world.discord.wait_until(lambda: any("Image #1" in m.content for m in world.statuses()))
    await world.run_jobs()
    upscaled = await world.result_for(lambda m: "Image #1" in m.content)
    services = world.runtime.services
    who = {"guild_id": world.guild.id, "user_id": world.member.user.id, "role_ids": []}
    used = (await services.quota.balance(**who)).lifetime_used
    submitted = len(world.proxy.submissions)

    again = await world.press(grid, "u1")
    answer = await world.discord.wait_until(lambda: next(iter(again.followups), None))
    await world.run_jobs()

    link = f"https://discord.com/channels/{world.guild.id}/{world.channel.id}/{upscaled.id}"
    assert answer.ephemeral
    assert link in answer.content
    assert len(world.proxy.submissions) == submitted
    results = [m for m in world.discord.messages.values() if m.attachments]
    assert len([m for m in results if "Image #1" in m.content]) == 1
    assert (await services.quota.balance(**who)).lifetime_used == used
    # A variation is a new render each time: pressed again, it makes (and charges) a new job.
    for _ in range(2):
        await world.press(grid, "v1")
        await world.discord.wait_until(
            lambda: any("Variations (V1)" in m.content for m in world.statuses())
        )
        await world.run_jobs()
    assert len(world.proxy.submissions) == submitted + 2
