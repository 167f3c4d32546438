"""error_embed, describe_error and send_error: one style, safe messages, any response state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.errors import JobNotFound, ProviderBusy, QuotaExceeded, UserFacingError
from bot.ui.errors import (
    DEFAULT_TITLE,
    ERROR_COLOUR,
    describe_error,
    error_embed,
    send_error,
)
from tests.fakes.discord import (
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeMember,
    connected,
    plain_bot,
)


async def _noop(interaction: discord.Interaction[Any]) -> None:
    """Body of the command that wraps errors in CommandInvokeError below."""


COMMAND: app_commands.Command[Any, ..., None] = app_commands.Command(
    name="noop", description="-", callback=_noop
)


class EchoTransformer(app_commands.Transformer):
    async def transform(self, interaction: discord.Interaction[Any], value: Any) -> Any:
        return value


def test_error_embed_has_one_style() -> None:
    embed = error_embed("Not here.")
    titled = error_embed("Not here.", title="Quota")

    assert (embed.title, embed.description, embed.colour) == (
        DEFAULT_TITLE,
        "Not here.",
        ERROR_COLOUR,
    )
    assert (titled.title, titled.colour) == ("Quota", ERROR_COLOUR)


def test_error_embed_keeps_a_long_message_within_discords_limit() -> None:
    description = error_embed("x" * 5000).description

    assert description is not None
    assert len(description) == 4096
    assert description.endswith("…")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (UserFacingError("Try a shorter prompt."), "Try a shorter prompt."),
        (
            QuotaExceeded("Out of credits.", needed=2, available=1, scope="member"),
            "Out of credits.",
        ),
        (ProviderBusy("The queue is full; try again soon."), "The queue is full; try again soon."),
        (app_commands.CommandInvokeError(COMMAND, JobNotFound("No such job.")), "No such job."),
        (
            app_commands.MissingPermissions(["manage_guild", "ban_members"]),
            "You need the Manage Server, Ban Members permission for this.",
        ),
        (
            app_commands.BotMissingPermissions(["attach_files"]),
            "I need the Attach Files permission in this channel to do that.",
        ),
        (
            app_commands.CommandOnCooldown(app_commands.Cooldown(1, 30.0), 12.2),
            "Slow down: try again in 13 s.",
        ),
        (app_commands.NoPrivateMessage(), "This command only works in a server."),
        (app_commands.CheckFailure(), "You can't use this command here."),
        (
            app_commands.CommandNotFound("imagine", []),
            "That command is out of date; try again in a minute.",
        ),
        (
            app_commands.TransformerError(
                "@everyone", discord.AppCommandOptionType.string, EchoTransformer()
            ),
            "@\u200beveryone is not a valid value here.",
        ),
    ],
)
def test_describe_error_gives_the_safe_message(error: Exception, expected: str) -> None:
    assert describe_error(error) == expected


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("db password hunter2"),
        app_commands.CommandInvokeError(COMMAND, KeyError("secret")),
        discord.DiscordException("gateway detail"),
    ],
)
def test_describe_error_returns_none_for_bugs(error: Exception) -> None:
    assert describe_error(error) is None


class SendErrorCog(commands.Cog):
    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.delivered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    @app_commands.command(name="fail", description="Show an error")
    async def fail(self, interaction: discord.Interaction[Any], defer: bool) -> None:
        if defer:
            await interaction.response.defer(ephemeral=True, thinking=True)
        await self.release.wait()
        self.delivered.set_result(await send_error(interaction, "No images here."))


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
def guild(fake: FakeDiscord) -> FakeGuild:
    return fake.add_guild()


@pytest.fixture
def channel(fake: FakeDiscord, guild: FakeGuild) -> FakeChannel:
    return fake.add_channel(guild)


@pytest.fixture
async def cog(
    fake: FakeDiscord, guild: FakeGuild, channel: FakeChannel
) -> AsyncIterator[SendErrorCog]:
    client = plain_bot()
    the_cog = SendErrorCog()
    await client.add_cog(the_cog)
    async with connected(client, fake):
        yield the_cog


@pytest.mark.parametrize(
    ("defer", "expire", "delivered", "webhook_errors"),
    [
        (False, False, True, []),
        (True, False, True, []),
        (True, True, False, [50027]),
    ],
)
async def test_send_error_answers_in_any_state_and_reports_a_refusal(
    fake: FakeDiscord,
    guild: FakeGuild,
    channel: FakeChannel,
    cog: SendErrorCog,
    defer: bool,
    expire: bool,
    delivered: bool,
    webhook_errors: list[int],
) -> None:
    user: FakeMember = fake.add_member(guild, "alice")
    record = await fake.invoke_slash(guild, channel, user.user, "fail", {"defer": defer})
    if defer:
        await record.response()
    if expire:
        fake.advance(fake.token_ttl + 1)
    cog.release.set()

    async with asyncio.timeout(10):
        assert await cog.delivered is delivered

    assert record.webhook_errors == webhook_errors
    shown = [m for m in channel.messages if m.embeds]
    assert len(shown) == int(delivered)
    assert all(m.ephemeral and m.embeds[0]["description"] == "No images here." for m in shown)
