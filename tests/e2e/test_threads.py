"""Allowed channels admit threads under them, end to end through the fake's thread channels."""

from __future__ import annotations

from tests.e2e.world import World, job_id_of
from tests.fakes.discord import FakeChannel, FakeMessage


async def imagine_in(world: World, thread: FakeChannel, prompt: str) -> FakeMessage:
    """Run ``/imagine prompt`` in ``thread``; return the message that ends the command."""
    record = await world.discord.invoke_slash(
        world.guild, thread, world.member.user, "imagine", {"prompt": prompt}
    )
    await record.response()
    return await world.answer_of(record)


async def test_imagine_in_threads_follows_the_parent_channels_allowance(world: World) -> None:
    moderator = world.discord.add_moderator(world.guild)
    other = world.discord.add_channel(world.guild, "elsewhere")
    allowed_thread = world.discord.add_thread(world.channel, "ideas", owner=world.member.user)
    other_thread = world.discord.add_thread(other, "off-topic", owner=world.member.user)
    restrict = await world.discord.invoke_slash(
        world.guild,
        world.channel,
        moderator.user,
        "guild-config channels add",
        {"channel": world.channel},
    )
    await restrict.response()
    assert "now allowed" in (await world.answer_of(restrict)).content

    refused = await imagine_in(world, other_thread, "a stray kite")
    assert refused.ephemeral
    assert "cannot be made in this channel" in refused.embeds[0]["description"]
    assert world.proxy.submissions == []

    accepted = await imagine_in(world, allowed_thread, "a kite in a thread")
    assert accepted.content.startswith("Queued 1 job")
    await world.run_jobs()
    result = await world.discord.wait_for_message(allowed_thread, lambda m: bool(m.attachments))
    assert result.content.startswith("**a kite in a thread")
    job = await world.runtime.services.jobs.get(job_id_of(result.custom_ids()))
    assert job.channel_id == allowed_thread.id
    assert [m for m in world.channel.messages if m.attachments] == []
    assert [m for m in other_thread.messages if not m.ephemeral] == []
