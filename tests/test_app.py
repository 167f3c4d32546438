"""Canary tests: the real TesseraBot logs in to the fake Discord and answers interactions.

The canary cog below is loaded the way production cogs are (an extension module on the path),
so these tests also cover ``setup_hook``. They pin discord.py's wire behaviour: if an upgrade
changes it, they fail here first.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.app import TesseraBot, bot_intents, use_api_base
from bot.errors import NotAllowed
from bot.settings import DiscordSettings, Settings
from bot.ui.errors import ERROR_COLOUR, GENERIC_MESSAGE
from tests.fakes.discord import FakeChannel, FakeDiscord, FakeGuild, FakeMember, connected

if TYPE_CHECKING:
    from bot.services import Services

EDIT_ROUTE = "/channels/{channel_id}/messages/{message_id}"


class CanaryButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"canary:(?P<n>\d+)"):
    """A persistent button: its state lives in the custom_id, as job buttons' does."""

    def __init__(self, n: int) -> None:
        super().__init__(discord.ui.Button(label=f"#{n}", custom_id=f"canary:{n}"))
        self.n = n

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> CanaryButton:
        return cls(int(match["n"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.edit_message(content=f"pressed {self.n}", view=None)


class CanaryCog(commands.Cog):
    """Commands that exercise each path of the bot shell."""

    def __init__(self, bot: TesseraBot) -> None:
        self.bot = bot
        self.release = asyncio.Event()
        self.outcome: asyncio.Future[BaseException | str] = (
            asyncio.get_running_loop().create_future()
        )

    @app_commands.command(name="echo", description="Say it back")
    async def echo(self, interaction: discord.Interaction[TesseraBot], text: str) -> None:
        await interaction.response.send_message(f"echo: {text}", view=self._buttons())

    def _buttons(self) -> discord.ui.View:
        view = discord.ui.View(timeout=None)
        view.add_item(CanaryButton(7))
        return view

    @app_commands.command(name="refuse", description="Raise a user-facing error")
    @app_commands.describe(deferred="Defer before failing")
    async def refuse(self, interaction: discord.Interaction[TesseraBot], deferred: bool) -> None:
        if deferred:
            await interaction.response.defer(ephemeral=True, thinking=True)
        raise NotAllowed("Images are not allowed in this channel.")

    @app_commands.command(name="crash", description="Raise a bug")
    async def crash(self, interaction: discord.Interaction[TesseraBot]) -> None:
        raise RuntimeError("internal detail: db password is hunter2")

    @app_commands.command(name="moderate", description="Moderators only")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def moderate(self, interaction: discord.Interaction[TesseraBot]) -> None:
        await interaction.response.send_message("done", ephemeral=True)

    @app_commands.command(name="progress", description="Post and edit a status message")
    async def progress(self, interaction: discord.Interaction[TesseraBot], steps: int) -> None:
        await interaction.response.defer(ephemeral=True)
        assert isinstance(interaction.channel, discord.TextChannel)
        message = await interaction.channel.send("0%")
        for step in range(1, steps + 1):
            message = await message.edit(content=f"{100 * step // steps}%")
        await interaction.followup.send("finished", ephemeral=True)

    @app_commands.command(name="slow", description="Answer after the test lets go")
    async def slow(self, interaction: discord.Interaction[TesseraBot]) -> None:
        await self.release.wait()
        await self._settle(interaction.response.send_message("too late?"))

    @app_commands.command(name="later", description="Defer, then follow up when let go")
    async def later(self, interaction: discord.Interaction[TesseraBot]) -> None:
        await interaction.response.defer()
        await self.release.wait()
        await self._settle(interaction.followup.send("result"))

    async def _settle(self, answer: Awaitable[Any]) -> None:
        """Record how Discord took ``answer``: "sent", or the HTTP error it raised."""
        try:
            await answer
        except discord.HTTPException as exc:
            self.outcome.set_result(exc)
        else:
            self.outcome.set_result("sent")


async def setup(bot: TesseraBot) -> None:
    """Extension entry point (imported by the generated module in ``canary_extension``)."""
    await bot.add_cog(CanaryCog(bot))


@pytest.fixture
def canary_extension(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    # load_extension re-executes the module it loads, so it gets a tiny module of its own
    # that re-exports setup() instead of this test module.
    name = "tessera_canary_extension"
    (tmp_path / f"{name}.py").write_text("from tests.test_app import setup as setup\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return name


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(deadline=3.0, token_ttl=900.0) as server:
        yield server


@pytest.fixture
def guild(fake: FakeDiscord) -> FakeGuild:
    return fake.add_guild("Canary guild")


@pytest.fixture
def channel(fake: FakeDiscord, guild: FakeGuild) -> FakeChannel:
    return fake.add_channel(guild, "general")


@pytest.fixture
def alice(fake: FakeDiscord, guild: FakeGuild) -> FakeMember:
    return fake.add_member(guild, "alice")


@pytest.fixture
async def bot(
    fake: FakeDiscord,
    guild: FakeGuild,
    channel: FakeChannel,
    canary_extension: str,
) -> AsyncIterator[TesseraBot]:
    settings = Settings(discord=DiscordSettings(api_base=fake.api_base, guild_ready_timeout=0.01))
    tessera = TesseraBot(
        settings=settings,
        # The canary cog reads no services; the real container is exercised by the cogs' tests.
        services=cast("Services", object()),
        extensions=[canary_extension],
        dynamic_items=[CanaryButton],
    )
    async with connected(tessera, fake):
        yield tessera


def canary(bot: TesseraBot) -> CanaryCog:
    cog = bot.get_cog("CanaryCog")
    assert isinstance(cog, CanaryCog)
    return cog


async def test_bot_logs_in_sees_the_guild_and_answers_a_slash_command(
    fake: FakeDiscord, bot: TesseraBot, guild: FakeGuild, channel: FakeChannel, alice: FakeMember
) -> None:
    assert bot.user is not None
    assert bot.user.id == fake.bot_user.id
    assert [g.id for g in bot.guilds] == [guild.id]

    record = await fake.invoke_slash(
        guild, channel, alice.user, "echo", {"text": "hello @everyone"}
    )
    callback = await record.response()

    assert callback.accepted
    assert callback.type == 4
    assert callback.content == "echo: hello @everyone"
    assert callback.data["allowed_mentions"]["parse"] == []  # NO_MENTIONS is the default
    assert record.original is not None
    assert record.original.custom_ids() == ["canary:7"]


async def test_registered_dynamic_item_answers_a_button_press(
    fake: FakeDiscord, bot: TesseraBot, guild: FakeGuild, channel: FakeChannel, alice: FakeMember
) -> None:
    first = await fake.invoke_slash(guild, channel, alice.user, "echo", {"text": "x"})
    await first.response()
    assert first.original is not None

    press = await fake.invoke_component(first.original, "canary:7", alice.user)
    callback = await press.response()

    assert callback.accepted
    assert callback.type == 7
    assert first.original.content == "pressed 7"
    assert first.original.components == []


@pytest.mark.parametrize("deferred", [False, True])
async def test_user_facing_error_reaches_the_user_as_an_ephemeral_embed(
    fake: FakeDiscord,
    bot: TesseraBot,
    guild: FakeGuild,
    channel: FakeChannel,
    alice: FakeMember,
    deferred: bool,
) -> None:
    record = await fake.invoke_slash(guild, channel, alice.user, "refuse", {"deferred": deferred})
    await record.response()
    shown = await fake.wait_for_message(channel, lambda m: bool(m.embeds))

    assert shown.ephemeral
    assert not shown.loading
    assert shown.embeds[0]["description"] == "Images are not allowed in this channel."
    assert shown.embeds[0]["color"] == ERROR_COLOUR.value
    # After a defer the error replaces the "thinking" message instead of adding a second one.
    assert len(channel.messages) == 1


async def test_unexpected_error_is_logged_and_the_user_sees_a_generic_message(
    fake: FakeDiscord,
    bot: TesseraBot,
    guild: FakeGuild,
    channel: FakeChannel,
    alice: FakeMember,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.ui.errors"):
        record = await fake.invoke_slash(guild, channel, alice.user, "crash")
        callback = await record.response()

    assert callback.ephemeral
    assert callback.embeds[0]["description"] == GENERIC_MESSAGE
    assert "hunter2" not in str(callback.data)
    logged = [r for r in caplog.records if r.exc_info]
    assert len(logged) == 1
    assert "hunter2" in repr(logged[0].exc_info)


async def test_permission_check_failure_is_explained_and_a_moderator_passes(
    fake: FakeDiscord, bot: TesseraBot, guild: FakeGuild, channel: FakeChannel, alice: FakeMember
) -> None:
    moderator = fake.add_moderator(guild)

    refused = await (await fake.invoke_slash(guild, channel, alice.user, "moderate")).response()
    allowed = await (await fake.invoke_slash(guild, channel, moderator.user, "moderate")).response()

    assert refused.ephemeral
    assert refused.embeds[0]["description"] == "You need the Manage Server permission for this."
    assert allowed.content == "done"


async def test_injected_429_on_an_edit_is_retried_and_the_final_edit_lands(
    fake: FakeDiscord, bot: TesseraBot, guild: FakeGuild, channel: FakeChannel, alice: FakeMember
) -> None:
    limit = fake.inject_rate_limit("PATCH", EDIT_ROUTE, count=1, retry_after=0.01)

    await fake.invoke_slash(guild, channel, alice.user, "progress", {"steps": 2})
    status = await fake.wait_for_message(channel, lambda m: not m.ephemeral)
    await fake.wait_for_edit(status, lambda m: m.content == "100%")

    assert limit.hits == 1
    statuses = [r.status for r in fake.requests_to("PATCH", EDIT_ROUTE)]
    assert statuses == [429, 200, 200]
    assert [snapshot["content"] for snapshot in status.history] == ["0%", "50%"]


async def test_discord_py_respects_the_channel_edit_bucket(
    fake: FakeDiscord, bot: TesseraBot, guild: FakeGuild, channel: FakeChannel, alice: FakeMember
) -> None:
    bucket = fake.limit_edits(channel, limit=2, per=0.05)

    await fake.invoke_slash(guild, channel, alice.user, "progress", {"steps": 5})
    status = await fake.wait_for_message(channel, lambda m: not m.ephemeral)
    await fake.wait_for_edit(status, lambda m: m.content == "100%")

    assert status.edit_count == 5
    # The headers alone made discord.py wait: at most the first burst can overflow.
    assert bucket.rejected <= 1


async def test_a_first_response_after_the_deadline_is_unknown_interaction(
    fake: FakeDiscord, bot: TesseraBot, guild: FakeGuild, channel: FakeChannel, alice: FakeMember
) -> None:
    cog = canary(bot)
    record = await fake.invoke_slash(guild, channel, alice.user, "slow")
    fake.advance(fake.deadline + 0.5)
    cog.release.set()

    callback = await record.response()
    async with asyncio.timeout(10):
        error = await cog.outcome

    assert not callback.accepted
    assert callback.error_code == 10062
    assert record.late
    assert isinstance(error, discord.NotFound)
    assert error.code == 10062


async def test_a_followup_after_the_token_expired_is_invalid_webhook_token(
    fake: FakeDiscord, bot: TesseraBot, guild: FakeGuild, channel: FakeChannel, alice: FakeMember
) -> None:
    cog = canary(bot)
    record = await fake.invoke_slash(guild, channel, alice.user, "later")
    assert (await record.response()).accepted
    fake.advance(fake.token_ttl + 1)
    cog.release.set()

    async with asyncio.timeout(10):
        error = await cog.outcome

    assert record.webhook_errors == [50027]
    assert isinstance(error, discord.HTTPException)
    assert (error.status, error.code) == (401, 50027)


async def test_sync_commands_publishes_globally_or_to_one_guild(
    fake: FakeDiscord, bot: TesseraBot, guild: FakeGuild
) -> None:
    names = sorted(c.name for c in bot.tree.get_commands())

    assert await bot.sync_commands(None) == len(names)
    assert await bot.sync_commands(guild.id) == len(names)

    assert sorted(c["name"] for c in fake.commands[None]) == names
    assert sorted(c["name"] for c in fake.commands[guild.id]) == names


def test_the_bot_asks_only_for_the_guilds_intent() -> None:
    intents = bot_intents()

    assert intents.guilds
    assert not intents.message_content
    assert not intents.members
    assert not intents.presences


def test_use_api_base_moves_bot_and_webhook_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)

    use_api_base("http://proxy.internal:8080/api/v10/")
    bot_route = discord.http.Route("GET", "/users/@me")
    webhook_route = discord.http.Route(
        "POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=1, webhook_token="t"
    )

    assert bot_route.url == "http://proxy.internal:8080/api/v10/users/@me"
    assert webhook_route.url == "http://proxy.internal:8080/api/v10/webhooks/1/t"
