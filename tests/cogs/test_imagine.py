"""The /imagine cog: refusals before anything is queued, confirmation and autocomplete.

These run the real bot and services against the fakes, with the fixtures of the
end-to-end tests.
"""

from __future__ import annotations

from typing import Any

import discord

from tests.e2e.world import World, discord_fake, proxy, world
from tests.fakes.discord import FakeMessage

__all__ = ["discord_fake", "proxy", "world"]


async def test_invalid_prompt_is_refused_ephemerally_and_nothing_is_stored(world: World) -> None:
    answer = await world.imagine("a fox --ar 1.39:1 --stylze 100")
    assert answer.ephemeral
    text = answer.embeds[0]["description"]
    assert "`--ar 1.39:1`" in text
    assert "139:100" in text
    assert "--stylize" in text
    assert world.proxy.submissions == []
    assert world.statuses() == []
    jobs = await world.runtime.services.jobs.user_jobs(
        guild_id=world.guild.id, user_id=world.member.user.id, active_only=False
    )
    assert jobs == []
    assert await world.runtime.services.quota.ledger(guild_id=world.guild.id) == []


async def test_missing_channel_permissions_are_reported_before_charging(world: World) -> None:
    locked = world.discord.add_channel(
        world.guild, "locked", bot_denied=discord.Permissions(attach_files=True)
    )
    record = await world.discord.invoke_slash(
        world.guild, locked, world.member.user, "imagine", {"prompt": "a cat"}
    )
    answer = await world.answer_of(record)
    assert answer.ephemeral
    assert "Attach Files" in answer.embeds[0]["description"]
    assert await world.runtime.services.quota.ledger(guild_id=world.guild.id) == []


async def ask_for_six_jobs(world: World) -> tuple[Any, FakeMessage]:
    """Run an /imagine that expands to six jobs; return the record and the question."""
    record = await world.discord.invoke_slash(
        world.guild,
        world.channel,
        world.member.user,
        "imagine",
        {"prompt": "a {red, green, blue} kite --repeat 2"},
    )
    return record, await world.answer_of(record)


async def test_many_jobs_ask_for_confirmation(world: World) -> None:
    record, question = await ask_for_six_jobs(world)
    assert "**6 jobs** (6 credits in total)" in question.content
    assert world.statuses() == []
    [confirm, _] = question.custom_ids()
    press = await world.discord.invoke_component(question, confirm, world.member.user)
    await press.response()
    await world.discord.wait_until(lambda: len(record.followups) >= 2)
    assert len(world.statuses()) == 6


async def test_declining_the_confirmation_queues_nothing(world: World) -> None:
    _, question = await ask_for_six_jobs(world)
    [_, decline] = question.custom_ids()
    press = await world.discord.invoke_component(question, decline, world.member.user)
    await press.response()
    await world.discord.wait_until(lambda: "Nothing was queued" in question.content)
    assert world.statuses() == []
    assert await world.runtime.services.quota.ledger(guild_id=world.guild.id) == []


async def complete(world: World, typed: str) -> list[dict[str, str]]:
    """The choices /imagine's prompt autocomplete offers for ``typed``."""
    record = await world.discord.invoke_autocomplete(
        world.guild,
        world.channel,
        world.member.user,
        "imagine",
        {"prompt": typed},
        focused="prompt",
    )
    answer = await record.response()
    choices: list[dict[str, str]] = answer.data["choices"]
    return choices


async def test_prompt_autocomplete_suggests_parameters(world: World) -> None:
    choices = await complete(world, "a fox --a")
    assert {"name": "a fox --ar", "value": "a fox --ar"} in choices


async def test_a_prompt_over_the_waiting_limit_is_refused_before_confirming(world: World) -> None:
    answer = await world.imagine("a {red, green, blue, pink} kite --repeat 3")
    text = answer.embeds[0]["description"]
    assert "This prompt makes 12 jobs; you may have at most 10 waiting" in text
    assert answer.custom_ids() == []  # no Queue / Never mind question first
    assert world.statuses() == []


async def test_prompt_autocomplete_offers_the_members_custom_options(world: World) -> None:
    await world.runtime.services.account.set_option(
        user_id=world.member.user.id, name="mystyle", value="--ar 2:3 --s 50"
    )
    choices = await complete(world, "a fox --my")
    assert {"name": "a fox --mystyle", "value": "a fox --mystyle"} in choices
