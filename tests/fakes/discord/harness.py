"""Run a real discord.py client against a FakeDiscord, with a clean start and stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import discord
from discord.ext import commands

from tests.fakes.discord.server import FakeDiscord

ClientT = TypeVar("ClientT", bound=discord.Client)


def point_discord_at(fake: FakeDiscord) -> None:
    """Send discord.py's REST (and so the gateway lookup) to the fake.

    discord.py keeps the REST root on a class (``Route.BASE``), so this is process-wide;
    ``connected`` puts the previous value back when the client stops.
    """
    discord.http.Route.BASE = fake.api_base


def plain_bot(**options: Any) -> commands.AutoShardedBot:
    """A bare discord.py bot for testing the fake or a UI helper without Tessera's shell."""
    return commands.AutoShardedBot(
        command_prefix=commands.when_mentioned,
        intents=discord.Intents(guilds=True),
        guild_ready_timeout=0.01,
        **options,
    )


@contextlib.asynccontextmanager
async def connected(client: ClientT, fake: FakeDiscord) -> AsyncIterator[ClientT]:
    """Start ``client`` against ``fake``, wait for on_ready, and close it on the way out.

    discord.py finds the fake's websocket through ``GET /gateway/bot``, which it only asks when
    it was given no ``shard_count``. A plain client with one needs
    ``DiscordWebSocket.DEFAULT_GATEWAY`` pointed at the fake; Tessera's bot does that itself.
    Several clients (one per shard) may be connected at once.
    """
    previous_base = discord.http.Route.BASE
    point_discord_at(fake)
    runner = asyncio.create_task(client.start(fake.token), name="fake-discord-client")

    async def ready() -> None:
        # wait_until_ready() only works once login ran, which sets the client's user (another
        # client's session may already be connected, so a connected gateway proves nothing).
        await fake.wait_until(lambda: client.user is not None)
        await client.wait_until_ready()

    waiter = asyncio.create_task(ready())
    try:
        async with asyncio.timeout(fake.wait_bound):
            await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():
            runner.result()  # re-raise the start-up failure
            raise AssertionError("the client stopped before it was ready")
        waiter.result()
        yield client
    finally:
        waiter.cancel()
        if not client.is_ready():
            # Still reaching the gateway: discord.py retries a failed shard launch forever.
            runner.cancel()
        await client.close()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        discord.http.Route.BASE = previous_base
