"""The discord.py bot class: loads the cogs, registers the job buttons, reports errors.

The composition root (``bot/__main__.py`` through ``bot/runtime.py``) builds the settings and
services and hands them in; nothing here creates clients, connections or settings.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.settings import Settings
from bot.ui.errors import report_error
from bot.ui.text import NO_MENTIONS

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

DEFAULT_EXTENSIONS = ("cogs.imagine", "cogs.account", "cogs.queue", "cogs.moderation")
DynamicItemType = type[discord.ui.DynamicItem[Any]]


def use_api_base(url: str) -> None:
    """Send discord.py's REST calls (bot and interaction webhooks alike) to ``url``.

    discord.py keeps its REST root on a class attribute (``discord.http.Route.BASE``), so this
    is process-wide: one bot per process, which is how Tessera runs. The gateway URL follows
    because discord.py asks ``GET /gateway/bot`` for it (``TesseraBot.connect`` does so when a
    shard count is set and discord.py would not).
    """
    discord.http.Route.BASE = url.rstrip("/")


def use_gateway(url: str) -> None:
    """Open every gateway session at ``url`` unless discord.py was given another one.

    discord.py connects to ``DiscordWebSocket.DEFAULT_GATEWAY`` (Discord's own gateway)
    whenever it has no address from ``GET /gateway/bot``: on every start with a fixed shard
    count, and on reconnects that cannot resume. Like ``use_api_base``, this is process-wide.
    """
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)


def bot_intents() -> discord.Intents:
    """The gateway intents Tessera needs, and no more."""
    # Commands and buttons arrive as interactions whatever the intents; `guilds` keeps the
    # channel and role cache that permission checks read. No message content and no member
    # list (both privileged): Tessera never reads messages or walks members.
    return discord.Intents(guilds=True)


def _sharding(settings: Settings) -> dict[str, Any]:
    """discord.py's shard options, or none at all: unset, it asks Discord for the count."""
    discord_settings = settings.discord
    if discord_settings.shard_count is None:
        return {}
    options: dict[str, Any] = {"shard_count": discord_settings.shard_count}
    if discord_settings.shard_ids is not None:
        options["shard_ids"] = list(discord_settings.shard_ids)
    return options


class TesseraTree(app_commands.CommandTree["TesseraBot"]):
    """The command tree, with the one error handler of every slash command."""

    async def on_error(
        self, interaction: discord.Interaction[TesseraBot], error: app_commands.AppCommandError
    ) -> None:
        """Show user-facing errors; log the rest and show a generic apology."""
        await report_error(interaction, error)


class TesseraBot(commands.AutoShardedBot):
    """Tessera on Discord: cogs as features, services handed in by the composition root."""

    def __init__(
        self,
        *,
        settings: Settings,
        services: Services,
        extensions: Sequence[str] = DEFAULT_EXTENSIONS,
        dynamic_items: Sequence[DynamicItemType] = (),
        **options: Any,
    ) -> None:
        # Tessera never joins voice: discord.py's start-up warnings about missing voice
        # libraries (PyNaCl, davey) would only make operators look for a problem.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            # Prefix commands are unused; a mention prefix needs no message-content intent.
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=bot_intents(),
            allowed_mentions=NO_MENTIONS,
            tree_cls=TesseraTree,
            guild_ready_timeout=settings.discord.guild_ready_timeout,
            # Empty: discord.py asks Discord for the application's owner when it needs one.
            owner_ids=set(settings.discord.owner_ids),
            **_sharding(settings),
            **options,
        )
        self.settings = settings
        self.services = services
        self.extension_names = tuple(extensions)
        self.dynamic_item_types = tuple(dynamic_items)

    async def login(self, token: str) -> None:
        """Point REST at ``discord.api_base`` (nirn-proxy, or a fake in tests), then log in."""
        use_api_base(self.settings.discord.api_base)
        await super().login(token)

    async def connect(self, *, reconnect: bool = True) -> None:
        """Open the gateway sessions; with a fixed shard count, at ``api_base``'s gateway.

        Without a shard count discord.py asks ``GET /gateway/bot`` for the shard count and the
        gateway address itself. With one it skips that call and would open every shard at
        Discord's own gateway, bypassing a REST proxy or test server in ``api_base``: ask the
        same endpoint for the address only.
        """
        if self.shard_count is not None:
            recommended, url, _ = await self.http.get_bot_gateway()
            use_gateway(url)
            if recommended > self.shard_count:
                log.warning(
                    "discord.shard_count is %d but Discord recommends %d shards; it refuses "
                    "sessions once a shard serves too many guilds (close code 4011)",
                    self.shard_count,
                    recommended,
                )
        await super().connect(reconnect=reconnect)

    async def setup_hook(self) -> None:
        """Load the cogs and register the job buttons; commands are not synced here."""
        for name in self.extension_names:
            await self.load_extension(name)
        if self.dynamic_item_types:
            self.add_dynamic_items(*self.dynamic_item_types)
        log.info(
            "loaded %d extensions and %d button templates",
            len(self.extension_names),
            len(self.dynamic_item_types),
        )

    async def sync_commands(self, guild_id: int | None) -> int:
        """Publish the slash commands globally, or to one guild; return how many were synced.

        A guild sync copies the global commands into that guild first: it is how a new
        command is tried on a test server at once (global commands take a while to spread).
        """
        guild = discord.Object(id=guild_id) if guild_id is not None else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        synced = await self.tree.sync(guild=guild)
        log.info("synced %d commands to %s", len(synced), guild_id or "all guilds")
        return len(synced)
