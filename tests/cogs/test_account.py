"""/info, /settings, /fast, /relax, /turbo, /prefer: the real bot against the fake Discord.

The ``world`` fixture here (a launched Runtime with the member and moderator cogs, real
services on a SQLite file, the fake Discord and a fake midjourney-proxy) is shared by the
other cog tests, which import it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.model import SpeedMode
from bot.prompt import parse_prompt
from bot.runtime import Runtime
from bot.services import Services
from bot.store.guild_config import RelaxPolicy
from tests.e2e.conftest import make_settings
from tests.fakes.discord import (
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    InteractionCallback,
    InteractionRecord,
    point_discord_at,
)
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy

EXTENSIONS = ("cogs.account", "cogs.queue", "cogs.moderation")
NOW = 1_700_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    """The running bot and the people and places of one fake guild."""

    discord: FakeDiscord
    runtime: Runtime
    clock: Clock
    guild: FakeGuild
    channel: FakeChannel
    member: FakeMember
    moderator: FakeMember
    role: FakeRole
    """A role the bot knows from GUILD_CREATE (roles added later would not be in its cache)."""

    @property
    def services(self) -> Services:
        return self.runtime.services

    async def slash(
        self,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: FakeUser | None = None,
    ) -> InteractionRecord:
        who = user or self.member.user
        return await self.discord.invoke_slash(self.guild, self.channel, who, command, options)

    async def answer(
        self,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: FakeUser | None = None,
    ) -> InteractionCallback:
        """Run a command and return the bot's (accepted) first answer."""
        record = await self.slash(command, options, user=user)
        callback = await record.response()
        assert callback.accepted, callback
        return callback

    async def press(
        self,
        message: FakeMessage,
        custom_id: str,
        *,
        user: FakeUser | None = None,
        values: list[str] | None = None,
    ) -> InteractionCallback:
        record = await self.discord.invoke_component(
            message, custom_id, user or self.member.user, values=values
        )
        callback = await record.response()
        assert callback.accepted, callback
        return callback

    async def submit(
        self, prompt: str, *, user: FakeMember | None = None, count: int = 1
    ) -> list[int]:
        """Queue jobs through the real JobService, as /imagine would."""
        who = user or self.member
        jobs = await self.services.jobs.submit(
            guild_id=self.guild.id,
            channel_id=self.channel.id,
            user_id=who.id,
            role_ids=[],
            prompts=[parse_prompt(prompt)] * count,
            speed=SpeedMode.FAST,
        )
        return [job.id for job in jobs]


def embed_fields(callback: InteractionCallback | FakeMessage, index: int = 0) -> dict[str, str]:
    embed = callback.embeds[index]
    return {field["name"]: field["value"] for field in embed.get("fields", [])}


def error_text(callback: InteractionCallback) -> str:
    """The description of the error embed (and check that it is the ephemeral error style)."""
    assert callback.ephemeral
    embed = callback.embeds[0]
    assert embed["title"] == "That didn't work"
    return str(embed["description"])


@contextlib.asynccontextmanager
async def running(runtime: Runtime, fake: FakeDiscord) -> AsyncIterator[Runtime]:
    point_discord_at(fake)
    await runtime.launch()
    try:
        async with asyncio.timeout(fake.wait_bound):
            await fake.wait_until_connected()
            await runtime.bot.wait_until_ready()
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with FakeDiscord(wait_bound=20.0) as fake, FakeMidjourneyProxy() as proxy:
        guild = fake.add_guild("Guild")
        channel = fake.add_channel(guild)
        role = fake.add_role(guild, "artists")
        member = fake.add_member(guild, "alice", roles=[role])
        moderator = fake.add_moderator(guild)
        clock = Clock()
        settings = make_settings(tmp_path / "tessera.db", fake, proxy)
        runtime = Runtime(settings, extensions=EXTENSIONS, run_dispatcher=False, clock=clock)
        async with running(runtime, fake):
            yield World(fake, runtime, clock, guild, channel, member, moderator, role)


# --- /info --------------------------------------------------------------------------------


async def test_info_shows_mode_credits_usage_and_jobs(world: World) -> None:
    quota = world.services.quota
    await quota.set_member_budget(
        guild_id=world.guild.id, user_id=world.member.id, amount=10_000, actor_id=1, reason="t"
    )
    await world.submit("a **bold** fox", count=2)

    callback = await world.answer("info")

    assert callback.ephemeral
    fields = embed_fields(callback)
    assert fields["Job mode"] == "Fast"
    assert fields["Your credits"].startswith("8/10 credits (80%)\nresets <t:")
    assert fields["Your credits"].endswith(":R>")
    assert fields["Server pool"].startswith("unlimited")
    assert fields["Queued jobs (fast)"] == "2"
    assert fields["Running jobs"] == "None"


# --- speed modes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "mode", "fragment"),
    [
        ("turbo", SpeedMode.TURBO, "twice as much"),
        ("relax", SpeedMode.RELAX, "cost no credits"),
        ("fast", SpeedMode.FAST, "fast credits"),
    ],
)
async def test_speed_commands_save_the_mode(
    world: World, command: str, mode: SpeedMode, fragment: str
) -> None:
    callback = await world.answer(command)
    assert callback.ephemeral
    assert fragment in callback.content
    assert (await world.services.account.settings(world.member.id)).speed is mode


async def test_relax_refused_where_the_guild_denies_it(world: World) -> None:
    await world.services.guild_config.update(world.guild.id, relax_policy=RelaxPolicy.DENY)
    callback = await world.answer("relax")
    assert "Relax mode is turned off" in error_text(callback)
    assert (await world.services.account.settings(world.member.id)).speed is SpeedMode.FAST


# --- /settings ----------------------------------------------------------------------------


def selected(message: FakeMessage, custom_id: str) -> list[str]:
    for row in message.components:
        for component in row.get("components", []):
            if component.get("custom_id") == custom_id:
                return [o["value"] for o in component.get("options", []) if o.get("default")]
    raise AssertionError(f"{custom_id} not on the message")


def button_label(message: FakeMessage, custom_id: str) -> str:
    for row in message.components:
        for component in row.get("components", []):
            if component.get("custom_id") == custom_id:
                return str(component["label"])
    raise AssertionError(f"{custom_id} not on the message")


async def open_settings(world: World) -> FakeMessage:
    record = await world.slash("settings")
    callback = await record.response()
    assert callback.ephemeral
    assert record.original is not None
    return record.original


async def test_settings_menus_save_and_rerender(world: World) -> None:
    message = await open_settings(world)
    assert selected(message, "settings:version") == ["default"]
    assert selected(message, "settings:speed") == ["fast"]

    update = await world.press(message, "settings:version", values=["6.1"])
    assert update.type == 7
    await world.press(message, "settings:stylize", values=["250"])
    await world.press(message, "settings:raw")
    await world.press(message, "settings:speed", values=["turbo"])

    stored = await world.services.account.settings(world.member.id)
    assert stored.default_params == "--v 6.1 --s 250 --raw"
    assert stored.speed is SpeedMode.TURBO
    assert selected(message, "settings:version") == ["6.1"]
    assert selected(message, "settings:stylize") == ["250"]
    assert selected(message, "settings:speed") == ["turbo"]
    assert button_label(message, "settings:raw") == "Raw mode: on"
    assert embed_fields(message)["Default parameters"] == "`--v 6.1 --s 250 --raw`"

    # Opening /settings again reads the stored choice back.
    again = await open_settings(world)
    assert selected(again, "settings:version") == ["6.1"]
    assert button_label(again, "settings:raw") == "Raw mode: on"

    await world.press(message, "settings:reset")
    assert (await world.services.account.settings(world.member.id)).default_params == ""


async def test_settings_refuses_a_combination_the_parser_refuses(world: World) -> None:
    message = await open_settings(world)
    await world.press(message, "settings:version", values=["6.1"])
    record = await world.discord.invoke_component(
        message, "settings:quality", world.member.user, values=["4"]
    )
    refusal = await record.response()
    assert "V7" in error_text(refusal)
    assert (await world.services.account.settings(world.member.id)).default_params == "--v 6.1"
    assert selected(message, "settings:quality") == ["default"]


async def test_settings_components_answer_only_their_owner(world: World) -> None:
    message = await open_settings(world)
    record = await world.discord.invoke_component(message, "settings:raw", world.moderator.user)
    assert "belong to the person who opened them" in error_text(await record.response())
    assert (await world.services.account.settings(world.moderator.id)).default_params == ""
    assert (await world.services.account.settings(world.member.id)).default_params == ""


async def test_settings_relax_refused_where_denied(world: World) -> None:
    await world.services.guild_config.update(world.guild.id, relax_policy=RelaxPolicy.DENY)
    message = await open_settings(world)
    record = await world.discord.invoke_component(
        message, "settings:speed", world.member.user, values=["relax"]
    )
    assert "Relax mode is turned off" in error_text(await record.response())
    assert (await world.services.account.settings(world.member.id)).speed is SpeedMode.FAST


# --- /prefer ------------------------------------------------------------------------------


async def test_prefer_suffix_saves_validates_and_clears(world: World) -> None:
    saved = await world.answer("prefer suffix", {"text": "in **ink** --ar 3:2"})
    assert "in \\*\\*ink\\*\\* --ar 3:2" in saved.content
    assert (await world.services.account.settings(world.member.id)).suffix == "in **ink** --ar 3:2"

    refused = await world.answer("prefer suffix", {"text": "--stylise 100"})
    assert "--stylize" in error_text(refused)
    assert (await world.services.account.settings(world.member.id)).suffix == "in **ink** --ar 3:2"

    cleared = await world.answer("prefer suffix")
    assert cleared.content == "Your suffix is cleared."
    assert (await world.services.account.settings(world.member.id)).suffix == ""


async def test_prefer_option_set_list_delete(world: World) -> None:
    saved = await world.answer("prefer option set", {"name": "Wide", "value": "--ar 21:9 --s 50"})
    assert saved.content.startswith("--wide now stands for")
    listed = await world.answer("prefer option list")
    assert "--ar 21:9 --s 50" in listed.embeds[0]["description"]

    record = await world.discord.invoke_autocomplete(
        world.guild,
        world.channel,
        world.member.user,
        "prefer option delete",
        {"name": "wi"},
        focused="name",
    )
    choices = (await record.response()).data["choices"]
    assert choices == [{"name": "--wide", "value": "wide"}]

    deleted = await world.answer("prefer option delete", {"name": "--wide"})
    assert "is deleted" in deleted.content
    assert await world.services.account.options(world.member.id) == {}
    missing = await world.answer("prefer option delete", {"name": "wide"})
    assert "no option named --wide" in error_text(missing)


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("ar", "--ar 16:9", "built-in parameter"),
        ("stylize", "--s 5", "built-in parameter"),
        ("two words", "--s 5", "one word"),
        ("mine", "--ar 1.39:1", "139:100"),
        ("mine", "--chaos 500", "chaos"),
    ],
)
async def test_prefer_option_refusals(world: World, name: str, value: str, fragment: str) -> None:
    refused = await world.answer("prefer option set", {"name": name, "value": value})
    assert fragment in error_text(refused)
    assert await world.services.account.options(world.member.id) == {}


async def test_prefer_suffix_checked_over_the_guild_and_user_defaults(world: World) -> None:
    await world.services.guild_config.update(world.guild.id, default_version="6.1")
    refused = await world.answer("prefer suffix", {"text": "--q 4"})
    assert "V7" in error_text(refused)
    await world.services.account.save_settings(
        guild_id=world.guild.id,
        user_id=world.member.id,
        speed=SpeedMode.FAST,
        default_params="--v 7",
    )
    accepted = await world.answer("prefer suffix", {"text": "--q 4"})
    assert accepted.content.endswith("It is added to every /imagine.")


async def test_turbo_warns_when_the_default_version_cannot_run_it(world: World) -> None:
    plain = await world.answer("turbo")
    assert "older than V5" not in plain.content
    await world.services.guild_config.update(world.guild.id, default_version="4")
    warned = await world.answer("turbo")
    assert "older than V5" in warned.content
    assert (await world.services.account.settings(world.member.id)).speed is SpeedMode.TURBO
