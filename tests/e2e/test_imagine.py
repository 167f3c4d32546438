"""/imagine end to end: the real runtime against fake Discord and a fake midjourney-proxy."""

from __future__ import annotations

import discord

from bot.jobs import JobState
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
