"""Restarts, expired tokens, rate limits, deleted messages and failed jobs, end to end."""

from __future__ import annotations

from pathlib import Path

from bot.model import JobState
from tests.e2e.world import (
    GRID_BUTTONS,
    World,
    job_id_of,
    new_server,
    running,
    tokens,
)
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.rest import NONCE_WINDOW
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy

EDIT_ROUTE = "/channels/{channel_id}/messages/{message_id}"


async def test_restart_mid_flight_finishes_the_job_and_its_buttons_work(
    tmp_path: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> None:
    guild, channel, member, settings = new_server(tmp_path / "tessera.db", discord_fake, proxy)

    async with running(settings, discord_fake) as first:
        world = World(discord_fake, proxy, settings, first, guild, channel, member)
        await world.imagine("a clockwork owl")
        [status] = world.statuses()
        job_id = job_id_of(status.custom_ids())
        await first.settle()
        [task_id] = proxy.tasks
        await proxy.advance(task_id)
        await first.settle()
        assert "(25%)" in status.content
        assert status.embeds[0]["image"]["url"].endswith("-preview.png")
        assert (await first.services.jobs.get(job_id)).state is JobState.RUNNING

    async with running(settings, discord_fake) as second:
        world = World(discord_fake, proxy, settings, second, guild, channel, member)
        await world.run_jobs()
        result = await world.result_for(lambda m: True)
        assert tokens(result.custom_ids()) == GRID_BUTTONS
        assert len(proxy.submissions) == 1
        await world.press(result, "u1")
        await discord_fake.wait_until(
            lambda: any("Image #1" in m.content for m in world.statuses())
        )
        await world.run_jobs()
        await world.result_for(lambda m: "Image #1" in m.content)
        balance = await second.services.quota.balance(
            guild_id=guild.id, user_id=member.user.id, role_ids=[]
        )
        assert balance.lifetime_used == 1250


async def test_result_is_posted_after_the_interaction_token_expired(world: World) -> None:
    await world.imagine("a night market")
    world.discord.token_ttl = 0  # every interaction token is now expired
    before = len(world.discord.requests)
    await world.run_jobs()
    result = await world.result_for(lambda m: True)
    assert result.content.startswith("**a night market")
    later = world.discord.requests[before:]
    assert not [r for r in later if r.route.startswith("/webhooks")]


async def test_a_429_on_the_final_edit_is_retried_and_the_result_kept(world: World) -> None:
    await world.imagine("a paper crane")
    [status] = world.statuses()
    limit = world.discord.inject_rate_limit("PATCH", EDIT_ROUTE, count=1, retry_after=0.01)
    await world.run_jobs()
    await world.result_for(lambda m: True)
    await world.discord.wait_until(lambda: "(Done)" in status.content)
    assert limit.hits == 1


async def test_deleted_status_message_still_gets_its_result(world: World) -> None:
    await world.imagine("a glass harbour")
    [status] = world.statuses()
    world.discord.delete_message(status)
    await world.run_jobs()
    result = await world.result_for(lambda m: True)
    assert tokens(result.custom_ids()) == GRID_BUTTONS
    job = await world.runtime.services.jobs.get(job_id_of(result.custom_ids()))
    assert job.state is JobState.SUCCEEDED


async def test_failure_reason_and_refund_are_shown(world: World) -> None:
    world.proxy.failure_reasons["doomed"] = "Request cancelled due to output filters"
    await world.imagine("a doomed ship")
    [status] = world.statuses()
    await world.run_jobs()
    await world.runtime.settle()
    assert "Failed: the image provider's moderation blocked it" in status.content
    assert "Your 1 credits were refunded." in status.content
    assert status.custom_ids() == []


async def test_failure_after_the_status_was_deleted_posts_a_new_line(world: World) -> None:
    world.proxy.banned_words.add("gore")
    await world.imagine("a gore scene")
    [status] = world.statuses()
    world.discord.delete_message(status)
    await world.run_jobs()
    await world.runtime.settle()
    line = await world.discord.wait_for_message(
        world.channel, lambda m: not m.deleted and "Failed:" in m.content
    )
    assert "banned word" in line.content
    assert "gore" in line.content
    assert "refunded" in line.content


async def test_a_result_posted_before_a_long_restart_is_not_posted_again(
    tmp_path: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> None:
    # Issue #11, finding 4: posted, then the bot was killed before it recorded the post;
    # back after Discord forgot the nonce, it posted the result a second time.
    guild, channel, member, settings = new_server(tmp_path / "tessera.db", discord_fake, proxy)
    async with running(settings, discord_fake) as first:
        world = World(discord_fake, proxy, settings, first, guild, channel, member)
        await world.imagine("a tin robot")
        [status] = world.statuses()
        job_id = job_id_of(status.custom_ids())
        await first.settle()
    # What the killed process had posted: a reply to the status, with the job's buttons.
    body = {
        "content": "**a tin robot**",
        "message_reference": {"message_id": status.id},
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 2, "label": "U1", "custom_id": f"job:{job_id}:u1"}
                ],
            }
        ],
    }
    posted = discord_fake.create_message(channel, discord_fake.bot_user, body, [])
    discord_fake.advance(NONCE_WINDOW + 60)
    async with running(settings, discord_fake) as second:
        world = World(discord_fake, proxy, settings, second, guild, channel, member)
        await world.run_jobs()
        job = await second.services.jobs.get(job_id)
    assert (job.state, job.result_message_id) == (JobState.SUCCEEDED, posted.id)
    replies = [m for m in discord_fake.messages.values() if f"job:{job_id}:u1" in m.custom_ids()]
    assert replies == [posted]
