"""Issue #11 over the wire: forged pushes and image addresses that lead inside."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.world import World, new_server, running
from tests.fakes.discord import FakeDiscord
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy, png_bytes


async def test_a_forged_push_is_only_a_hint(
    tmp_path: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> None:
    guild, channel, member, settings = new_server(tmp_path / "t.db", discord_fake, proxy)
    hooked = settings.provider.model_copy(update={"webhook_host": "127.0.0.1", "webhook_port": 0})
    settings = settings.model_copy(update={"provider": hooked})
    proxy.images["evil.png"] = (png_bytes(grid=False), "image/png")
    async with running(settings, discord_fake) as runtime:
        world = World(discord_fake, proxy, settings, runtime, guild, channel, member)
        await world.imagine("a genuine fox")
        await runtime.settle()
        [task] = proxy.tasks.values()
        assert task.notify_hook is not None
        forged = {
            "id": task.id,
            "status": "SUCCESS",
            "progress": "100%",
            "state": task.state,
            "imageUrl": f"{proxy.root_url}/images/evil.png",
            "buttons": [{"customId": "MJ::JOB::upsample::1::forged", "label": "U1"}],
        }
        async with httpx.AsyncClient() as client:
            answer = await client.post(task.notify_hook, json=forged)
            stranger = await client.post(task.notify_hook, json={**forged, "id": "999"})
        assert (answer.status_code, stranger.status_code) == (200, 200)
        await runtime.settle()
        # Nothing was fetched from the forged address and nothing was posted.
        assert proxy.count("/images/evil.png") == 0
        assert not [m for m in discord_fake.messages.values() if m.attachments]
        # The real task still finishes and is delivered from the provider's own answer.
        await world.run_jobs()
        result = await world.result_for(lambda m: True)
        assert result.content.startswith("**a genuine fox")
        assert proxy.count("/images/evil.png") == 0
        assert not any("forged" in c for c in result.custom_ids())


async def test_a_result_whose_answer_was_lost_is_posted_once(world: World) -> None:
    # Issue #11: Discord created the result, the bot never heard back (or died before it
    # recorded it), so it posted again. The nonce makes Discord hand back the first message.
    await world.imagine("a single fox")
    await world.runtime.settle()
    assert world.statuses()  # the status message is up: the next create is the result
    world.discord.lose_create_answers = 1
    await world.run_jobs()
    assert world.discord.lose_create_answers == 0
    results = [m for m in world.discord.messages.values() if m.attachments]
    assert len(results) == 1
    assert results[0].content.startswith("**a single fox")


async def test_an_allowed_host_may_be_named_in_a_prompt(world: World) -> None:
    # Issue #11: the fixtures allow 127.0.0.1 for fetching; the prompt validator agrees now.
    url = f"{world.proxy.root_url}/images/ref.png"
    answer = await world.imagine(f"{url} a fox by the sea")
    assert answer.content.startswith("Queued 1 job (#"), answer.content
    await world.runtime.settle()
    [submitted] = world.proxy.submissions
    assert submitted["prompt"].startswith(f"{url} a fox by the sea")
