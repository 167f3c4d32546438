"""What users do: slash commands, button and select presses, autocomplete, modal submits.

Each action pushes a real INTERACTION_CREATE through the gateway and returns its
``InteractionRecord``; ``await record.response()`` resolves when the bot answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tests.fakes.discord import interactions as wire
from tests.fakes.discord.interactions import InteractionRecord
from tests.fakes.discord.models import FakeChannel, FakeGuild, FakeMessage, FakeUser, new_snowflake

if TYPE_CHECKING:
    from tests.fakes.discord.gateway import Gateway

Options = Mapping[str, Any] | Sequence[dict[str, Any]] | None


class InteractionActions:
    """The user-action half of FakeDiscord (mixed into it)."""

    if TYPE_CHECKING:
        application_id: int
        wait_bound: float
        upload_limit: int
        gateway: Gateway
        commands: dict[int | None, list[dict[str, Any]]]
        guilds: dict[int, FakeGuild]
        channels: dict[int, FakeChannel]

        def now(self) -> float: ...
        async def flush_dispatches(self) -> None: ...
        def changed(self) -> None: ...
        def bot_permissions(self, channel: FakeChannel) -> int: ...
        def guild_of(self, channel: FakeChannel) -> FakeGuild | None: ...

    def __init__(self) -> None:
        self.interactions: dict[int, InteractionRecord] = {}
        self.interactions_by_token: dict[str, InteractionRecord] = {}

    async def invoke_slash(
        self,
        guild: FakeGuild | None,
        channel: FakeChannel,
        user: FakeUser,
        command: str,
        options: Options = None,
    ) -> InteractionRecord:
        """Run ``/command`` ("quota set-member" for subcommands) with ``options``.

        ``options`` maps names to values whose Python type picks the option type (str, int,
        bool, float, FakeUser/FakeMember, FakeRole, FakeChannel, FakeAttachment), or is a
        list of raw option dicts.
        """
        built, resolved = wire.build_options(options, guild)
        data = wire.command_data(command, self._command_id(guild, command), built, resolved, guild)
        return await self._push(wire.SLASH, data, guild, channel, user)

    async def invoke_autocomplete(
        self,
        guild: FakeGuild | None,
        channel: FakeChannel,
        user: FakeUser,
        command: str,
        options: Options,
        *,
        focused: str,
    ) -> InteractionRecord:
        """Ask for autocomplete choices of option ``focused``; the answer is a type 8 callback."""
        built, resolved = wire.build_options(options, guild, focused)
        data = wire.command_data(command, self._command_id(guild, command), built, resolved, guild)
        return await self._push(wire.AUTOCOMPLETE, data, guild, channel, user)

    async def invoke_component(
        self,
        message: FakeMessage,
        custom_id: str,
        user: FakeUser,
        *,
        values: Sequence[str] | None = None,
    ) -> InteractionRecord:
        """Press a button (or pick ``values`` in a string select) on ``message``."""
        if custom_id not in message.custom_ids():
            raise AssertionError(f"{custom_id!r} is not on the message: {message.custom_ids()}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": 2}
        if values is not None:
            data = {"custom_id": custom_id, "component_type": 3, "values": list(values)}
        channel = self.channels[message.channel_id]
        return await self._push(
            wire.COMPONENT, data, self.guild_of(channel), channel, user, message
        )

    async def submit_modal(
        self,
        guild: FakeGuild | None,
        channel: FakeChannel,
        user: FakeUser,
        custom_id: str,
        fields: Mapping[str, str],
        *,
        message: FakeMessage | None = None,
    ) -> InteractionRecord:
        """Submit a modal whose text inputs (by custom_id) hold ``fields``."""
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": key, "value": value}]}
            for key, value in fields.items()
        ]
        data = {"custom_id": custom_id, "components": rows}
        return await self._push(wire.MODAL_SUBMIT, data, guild, channel, user, message)

    def _command_id(self, guild: FakeGuild | None, command: str) -> int:
        name = command.split()[0]
        scopes = [guild.id, None] if guild is not None else [None]
        for scope in scopes:
            for registered in self.commands.get(scope, []):
                if registered.get("name") == name:
                    return int(registered["id"])
        return new_snowflake()

    async def _push(
        self,
        kind: int,
        data: dict[str, Any],
        guild: FakeGuild | None,
        channel: FakeChannel,
        user: FakeUser,
        message: FakeMessage | None = None,
    ) -> InteractionRecord:
        # Events announced earlier (a new channel, say) must reach the bot before this one.
        await self.flush_dispatches()
        if not self.gateway.connected:
            raise AssertionError("no bot is connected to the fake gateway")
        # Discord delivers an interaction to one session of the guild's shard, not to every
        # connection.
        session = self.gateway.session_for(guild.id if guild is not None else None)
        if guild is not None and user.id not in guild.members:
            raise AssertionError(f"{user.name} is not a member of {guild.name}")
        interaction_id, token = wire.new_interaction_id(), wire.new_token()
        if guild is not None:
            user_permissions = guild.permissions_in(channel, guild.members[user.id])
        else:
            user_permissions = 0
        payload = wire.interaction_payload(
            interaction_id=interaction_id,
            token=token,
            kind=kind,
            application_id=self.application_id,
            data=data,
            guild=guild,
            channel=channel,
            user=user,
            user_permissions=user_permissions,
            app_permissions=self.bot_permissions(channel),
            upload_limit=self.upload_limit,
            message=message,
        )
        record = InteractionRecord(
            id=interaction_id,
            token=token,
            type=kind,
            payload=payload,
            created_at=self.now(),
            guild=guild,
            channel=channel,
            user=user,
            source_message=message,
            wait_bound=self.wait_bound,
        )
        self.interactions[interaction_id] = record
        self.interactions_by_token[token] = record
        await self.gateway.dispatch_to(session, "INTERACTION_CREATE", payload)
        self.changed()
        return record
