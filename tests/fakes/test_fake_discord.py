"""The fake Discord itself, driven by a plain discord.py bot (not Tessera's)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord import (
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeMember,
    connected,
    plain_bot,
)
from tests.fakes.discord.models import Overwrite, shard_of

MANAGE = discord.Permissions(manage_guild=True).value
SEND = discord.Permissions(send_messages=True).value
VIEW = discord.Permissions(view_channel=True).value


class Probe:
    """What the test bot saw, as futures the tests await (no polling)."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.sent: asyncio.Future[discord.Message] = loop.create_future()
        self.error: asyncio.Future[discord.HTTPException] = loop.create_future()
        self.values: asyncio.Future[list[str]] = loop.create_future()
        self.modal: asyncio.Future[str] = loop.create_future()
        self.subcommand: asyncio.Future[tuple[str, int]] = loop.create_future()
        self.joined: asyncio.Future[discord.Guild] = loop.create_future()
        self.thread: asyncio.Future[discord.Thread] = loop.create_future()


class NoteModal(discord.ui.Modal, title="Note"):
    text: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Text", custom_id="note-text")

    def __init__(self, probe: Probe) -> None:
        super().__init__(custom_id="note-modal")
        self.probe = probe

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        self.probe.modal.set_result(self.text.value)
        await interaction.response.send_message("noted", ephemeral=True)


class PickSelect(discord.ui.Select[Any]):
    def __init__(self, probe: Probe) -> None:
        options = [discord.SelectOption(label=x) for x in "abc"]
        super().__init__(custom_id="pick-select", options=options)
        self.probe = probe

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        self.probe.values.set_result(self.values)
        await interaction.response.send_modal(NoteModal(self.probe))


def build_bot(probe: Probe) -> commands.AutoShardedBot:
    bot = plain_bot()

    @bot.tree.command(name="post", description="Post in this channel")
    async def post(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True)
        assert isinstance(interaction.channel, discord.TextChannel | discord.Thread)
        try:
            probe.sent.set_result(await interaction.channel.send("hello"))
        except discord.HTTPException as exc:
            probe.error.set_result(exc)

    @bot.tree.command(name="upload", description="Answer with a file, then replace it")
    async def upload(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(file=discord.File(io.BytesIO(b"one"), "one.png"))
        await interaction.edit_original_response(
            attachments=[discord.File(io.BytesIO(b"two"), "two.png")]
        )

    @bot.tree.command(name="pick", description="Offer a select and a modal")
    async def pick(interaction: discord.Interaction[Any]) -> None:
        view = discord.ui.View(timeout=None)
        view.add_item(PickSelect(probe))
        await interaction.response.send_message("pick one", view=view)

    @bot.tree.command(name="style", description="Autocomplete a style")
    async def style(interaction: discord.Interaction[Any], name: str) -> None:
        await interaction.response.send_message(name)

    @style.autocomplete("name")
    async def style_names(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        names = ["raw", "scenic", "cute"]
        return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]

    quota = app_commands.Group(name="quota", description="Quota")
    member_group = app_commands.Group(name="member", description="Members", parent=quota)

    @member_group.command(name="set", description="Set a member's budget")
    async def quota_member_set(
        interaction: discord.Interaction[Any], member: discord.Member, amount: int
    ) -> None:
        probe.subcommand.set_result((member.name, amount))
        await interaction.response.send_message("set", ephemeral=True)

    bot.tree.add_command(quota)

    @bot.event
    async def on_guild_join(guild: discord.Guild) -> None:
        probe.joined.set_result(guild)

    @bot.event
    async def on_thread_create(thread: discord.Thread) -> None:
        probe.thread.set_result(thread)

    return bot


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(deadline=3.0) as server:
        yield server


@pytest.fixture
def guild(fake: FakeDiscord) -> FakeGuild:
    return fake.add_guild()


@pytest.fixture
def channel(fake: FakeDiscord, guild: FakeGuild) -> FakeChannel:
    return fake.add_channel(guild, "general")


@pytest.fixture
def alice(fake: FakeDiscord, guild: FakeGuild) -> FakeMember:
    return fake.add_member(guild, "alice")


@pytest.fixture
async def probe() -> Probe:
    return Probe()


@pytest.fixture
async def bot(
    fake: FakeDiscord,
    guild: FakeGuild,
    channel: FakeChannel,
    probe: Probe,
) -> AsyncIterator[commands.AutoShardedBot]:
    async with connected(build_bot(probe), fake) as client:
        yield client


def test_channel_permissions_follow_discords_overwrite_order() -> None:
    fake = FakeDiscord()
    guild = fake.add_guild()
    channel = fake.add_channel(guild)
    helper = fake.add_role(guild, "helper", MANAGE)
    muted = fake.add_role(guild, "muted")
    bob = fake.add_member(guild, "bob", roles=[helper, muted])
    admin = fake.add_member(guild, "admin", permissions=discord.Permissions(administrator=True))
    everyone_deny = Overwrite(guild.id, is_member=False, deny=SEND)
    role_allow = Overwrite(helper.id, is_member=False, allow=SEND)
    role_deny = Overwrite(muted.id, is_member=False, deny=SEND)
    member_allow = Overwrite(bob.id, is_member=True, allow=SEND)
    cases = [
        ([], True),
        ([everyone_deny], False),
        ([everyone_deny, role_allow], True),
        # Role overwrites combine: an allow on any role wins over a deny on another.
        ([role_allow, role_deny], True),
        ([role_deny], False),
        ([role_deny, member_allow], True),
    ]
    for overwrites, can_send in cases:
        channel.overwrites = overwrites
        assert bool(guild.permissions_in(channel, bob) & SEND) is can_send, overwrites
        assert guild.permissions_in(channel, bob) & MANAGE
        assert guild.permissions_in(channel, admin) == discord.Permissions.all().value


@pytest.mark.usefixtures("bot")
async def test_posting_where_the_bot_may_not_send_is_missing_permissions(
    fake: FakeDiscord, guild: FakeGuild, alice: FakeMember, probe: Probe
) -> None:
    closed = fake.add_channel(
        guild, "read-only", bot_denied=discord.Permissions(send_messages=True)
    )

    record = await fake.invoke_slash(guild, closed, alice.user, "post")
    async with asyncio.timeout(10):
        error = await probe.error

    assert isinstance(error, discord.Forbidden)
    assert error.code == 50013
    assert record.payload["app_permissions"] == str(fake.bot_permissions(closed))
    assert [m for m in closed.messages if not m.ephemeral] == []


@pytest.mark.usefixtures("bot")
async def test_editing_a_deleted_message_is_unknown_message(
    fake: FakeDiscord, guild: FakeGuild, channel: FakeChannel, alice: FakeMember, probe: Probe
) -> None:
    await fake.invoke_slash(guild, channel, alice.user, "post")
    async with asyncio.timeout(10):
        sent = await probe.sent
    fake.delete_message(fake.messages[sent.id])

    with pytest.raises(discord.NotFound) as caught:
        await sent.edit(content="too late")

    assert caught.value.code == 10008


@pytest.mark.usefixtures("bot")
async def test_uploads_keep_their_bytes_and_an_edit_replaces_them(
    fake: FakeDiscord, guild: FakeGuild, channel: FakeChannel, alice: FakeMember
) -> None:
    record = await fake.invoke_slash(guild, channel, alice.user, "upload")
    await record.response()
    message = await fake.wait_for_edit(await fake.wait_for_message(channel))

    assert [(a.filename, a.data) for a in message.attachments] == [("two.png", b"two")]
    assert message.history[0]["attachments"] == ["one.png"]
    async with aiohttp.ClientSession() as session, session.get(message.attachments[0].url) as got:
        assert await got.read() == b"two"


@pytest.mark.usefixtures("bot")
async def test_an_upload_over_the_limit_is_refused_and_recorded(
    fake: FakeDiscord, guild: FakeGuild, channel: FakeChannel, alice: FakeMember
) -> None:
    fake.upload_limit = 2

    record = await fake.invoke_slash(guild, channel, alice.user, "upload")
    callback = await record.response()

    assert record.payload["attachment_size_limit"] == 2
    assert not callback.accepted
    assert callback.error_code == 40005
    assert channel.messages == []


@pytest.mark.usefixtures("bot")
async def test_ephemeral_messages_are_not_reachable_through_the_channel(
    fake: FakeDiscord, guild: FakeGuild, channel: FakeChannel, alice: FakeMember
) -> None:
    record = await fake.invoke_slash(guild, channel, alice.user, "post")
    await record.response()
    assert record.original is not None
    assert record.original.ephemeral
    url = f"{fake.api_base}/channels/{channel.id}/messages/{record.original.id}"
    headers = {"Authorization": f"Bot {fake.token}"}

    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as got:
        assert (got.status, (await got.json())["code"]) == (404, 10008)


@pytest.mark.usefixtures("bot")
async def test_select_values_and_a_modal_round_trip(
    fake: FakeDiscord, guild: FakeGuild, channel: FakeChannel, alice: FakeMember, probe: Probe
) -> None:
    offer = await fake.invoke_slash(guild, channel, alice.user, "pick")
    await offer.response()
    assert offer.original is not None

    chosen = await fake.invoke_component(offer.original, "pick-select", alice.user, values=["b"])
    modal = await chosen.response()
    submitted = await fake.submit_modal(
        guild, channel, alice.user, "note-modal", {"note-text": "hi"}
    )

    assert modal.type == 9
    assert modal.data["custom_id"] == "note-modal"
    assert (await submitted.response()).content == "noted"
    assert await probe.values == ["b"]
    assert await probe.modal == "hi"


@pytest.mark.usefixtures("bot")
async def test_autocomplete_answers_with_choices(
    fake: FakeDiscord, guild: FakeGuild, channel: FakeChannel, alice: FakeMember
) -> None:
    record = await fake.invoke_autocomplete(
        guild, channel, alice.user, "style", {"name": "sc"}, focused="name"
    )
    callback = await record.response()

    assert callback.type == 8
    assert callback.data["choices"] == [{"name": "scenic", "value": "scenic"}]


@pytest.mark.usefixtures("bot")
async def test_subcommand_groups_and_member_options_reach_the_right_command(
    fake: FakeDiscord, guild: FakeGuild, channel: FakeChannel, alice: FakeMember, probe: Probe
) -> None:
    moderator = fake.add_moderator(guild)

    await fake.invoke_slash(
        guild, channel, moderator.user, "quota member set", {"member": alice, "amount": 12}
    )

    async with asyncio.timeout(10):
        assert await probe.subcommand == ("alice", 12)


@pytest.mark.usefixtures("bot")
async def test_callbacks_and_webhooks_follow_discords_rules(
    fake: FakeDiscord, guild: FakeGuild, channel: FakeChannel, alice: FakeMember
) -> None:
    record = await fake.invoke_slash(guild, channel, alice.user, "style", {"name": "raw"})
    assert (await record.response()).accepted
    callback = f"{fake.api_base}/interactions/{record.id}/{record.token}/callback"
    webhook = f"{fake.api_base}/webhooks/{fake.application_id}/{record.token}/messages/@original"
    wrong = f"{fake.api_base}/webhooks/{fake.application_id}/not-a-token/messages/@original"

    async with aiohttp.ClientSession() as session:
        async with session.post(callback, json={"type": 4, "data": {"content": "again"}}) as again:
            assert (again.status, (await again.json())["code"]) == (400, 40060)
        async with session.get(webhook) as original:
            assert original.headers["Content-Type"] == "application/json"
            assert (await original.json())["content"] == "raw"
        async with session.get(wrong) as unknown:
            assert (unknown.status, (await unknown.json())["code"]) == (404, 10015)
        fake.advance(fake.token_ttl + 1)
        async with session.get(webhook) as expired:
            assert (expired.status, (await expired.json())["code"]) == (401, 50027)

    assert [c.accepted for c in record.callbacks] == [True, False]
    assert record.webhook_errors == [50027]


@pytest.mark.usefixtures("bot")
async def test_a_dropped_gateway_resumes_and_interactions_still_arrive(
    fake: FakeDiscord, guild: FakeGuild, channel: FakeChannel, alice: FakeMember
) -> None:
    await fake.drop_gateway()
    await fake.wait_until(lambda: any(s.resumes for s in fake.gateway.connected))

    record = await fake.invoke_autocomplete(
        guild, channel, alice.user, "style", {"name": ""}, focused="name"
    )

    assert (await record.response()).accepted
    assert len(fake.gateway.sessions) == 1


@pytest.mark.usefixtures("bot")
async def test_a_guild_created_while_connected_is_dispatched(
    fake: FakeDiscord, probe: Probe
) -> None:
    late = fake.add_guild("Late guild")

    async with asyncio.timeout(10):
        joined = await probe.joined

    assert joined.id == late.id
    assert joined.me is not None


@pytest.mark.usefixtures("bot")
async def test_a_thread_is_announced_and_commands_in_it_post_there(
    fake: FakeDiscord, guild: FakeGuild, channel: FakeChannel, alice: FakeMember, probe: Probe
) -> None:
    thread = fake.add_thread(channel, "ideas", owner=alice.user)
    async with asyncio.timeout(10):
        announced = await probe.thread
    assert (announced.id, announced.parent_id, announced.type) == (
        thread.id,
        channel.id,
        discord.ChannelType.public_thread,
    )

    record = await fake.invoke_slash(guild, thread, alice.user, "post")
    async with asyncio.timeout(10):
        sent = await probe.sent

    raw = record.payload["channel"]
    assert (raw["type"], raw["parent_id"], record.payload["channel_id"]) == (
        11,
        str(channel.id),
        str(thread.id),
    )
    assert isinstance(sent.channel, discord.Thread)
    assert sent.channel.parent_id == channel.id
    assert [m.content for m in thread.messages if not m.ephemeral] == ["hello"]
    assert [m for m in channel.messages if not m.ephemeral] == []


async def test_threads_in_guild_create_are_cached(
    fake: FakeDiscord, guild: FakeGuild, channel: FakeChannel, probe: Probe
) -> None:
    thread = fake.add_thread(channel, "before-login")

    async with connected(build_bot(probe), fake) as client:
        known = client.get_guild(guild.id)
        assert known is not None
        cached = known.get_thread(thread.id)

    assert cached is not None
    assert (cached.parent_id, cached.name) == (channel.id, "before-login")


def test_a_thread_takes_its_parents_permissions() -> None:
    fake = FakeDiscord()
    guild = fake.add_guild()
    closed = fake.add_channel(guild, bot_denied=discord.Permissions(send_messages_in_threads=True))
    thread = fake.add_thread(closed)
    bob = fake.add_member(guild, "bob")
    fake.set_overwrite(closed, bob, deny=VIEW)

    assert guild.permissions_in(thread, bob) == guild.permissions_in(closed, bob)
    assert not guild.permissions_in(thread, bob) & VIEW
    assert not fake.bot_permissions(thread) & discord.Permissions.send_messages_in_threads.flag
    with pytest.raises(AssertionError):
        fake.add_thread(thread)


@pytest.mark.usefixtures("bot")
async def test_posting_in_a_thread_needs_send_messages_in_threads(
    fake: FakeDiscord, guild: FakeGuild, alice: FakeMember, probe: Probe
) -> None:
    parent = fake.add_channel(
        guild, "no-threads", bot_denied=discord.Permissions(send_messages_in_threads=True)
    )
    thread = fake.add_thread(parent)

    await fake.invoke_slash(guild, thread, alice.user, "post")
    async with asyncio.timeout(10):
        error = await probe.error

    assert isinstance(error, discord.Forbidden)
    assert error.code == 50013
    assert [m for m in thread.messages if not m.ephemeral] == []


async def test_a_wrong_bot_token_cannot_log_in(
    fake: FakeDiscord, probe: Probe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    client = build_bot(probe)
    try:
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
    finally:
        await client.close()

    assert fake.requests[-1].status == 401


def sharded_bot(shard_id: int, answered: asyncio.Future[int]) -> commands.AutoShardedBot:
    """A bot running shard ``shard_id`` of 2 whose /ping reports the guild it came from."""
    bot = plain_bot(shard_count=2, shard_ids=[shard_id])

    @bot.tree.command(name="ping", description="Say which guild asked")
    async def ping(interaction: discord.Interaction[Any]) -> None:
        assert interaction.guild_id is not None
        answered.set_result(interaction.guild_id)
        await interaction.response.send_message("pong", ephemeral=True)

    return bot


def test_guild_ids_can_be_placed_on_a_shard() -> None:
    fake = FakeDiscord()
    for shard_id in range(3):
        guild = fake.add_guild(f"on {shard_id}", shard=(shard_id, 3))
        assert shard_of(guild.id, 3) == shard_id


async def test_each_shard_session_gets_its_own_guilds_and_their_events(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a shard count, plain discord.py opens DEFAULT_GATEWAY (Tessera's bot asks api_base).
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
    guilds = [fake.add_guild(f"guild {i}", shard=(i, 2)) for i in range(2)]
    channels = [fake.add_channel(guild) for guild in guilds]
    users = [fake.add_member(guild, "alice").user for guild in guilds]
    loop = asyncio.get_running_loop()
    answered: list[asyncio.Future[int]] = [loop.create_future() for _ in range(2)]
    first, second = (sharded_bot(i, answered[i]) for i in range(2))

    async with connected(first, fake), connected(second, fake):
        await fake.wait_until(lambda: len(fake.gateway.connected) == 2)
        by_shard = {s.identify["shard"][0]: s for s in fake.gateway.connected}
        assert {i: s.identify["shard"] for i, s in by_shard.items()} == {0: [0, 2], 1: [1, 2]}
        assert [g.id for g in first.guilds] == [guilds[0].id]
        assert [g.id for g in second.guilds] == [guilds[1].id]

        late = fake.add_channel(guilds[1], "late")
        record = await fake.invoke_slash(guilds[1], channels[1], users[1], "ping")
        assert (await record.response()).accepted
        async with asyncio.timeout(10):
            assert await answered[1] == guilds[1].id
        assert not answered[0].done()

        def events(shard_id: int) -> list[str]:
            return [frame["t"] for frame in by_shard[shard_id].sent]

        await fake.flush_dispatches()
        assert "CHANNEL_CREATE" not in events(0)
        assert "INTERACTION_CREATE" not in events(0)
        assert second.get_channel(late.id) is not None
        assert events(1).count("GUILD_CREATE") == 1
