"""A server's configuration as moderators change it.

Each change is checked against the configuration it changes and saved in the transaction that
read it, so two moderators' changes cannot interleave between a check and its write.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from bot.account.checks import check_defaults, check_saved_defaults, check_version

if TYPE_CHECKING:
    from bot.store.database import Database
    from bot.store.guild_config import GuildConfig, GuildConfigRepository


class GuildConfigService:
    """Reads and changes a guild's configuration; each call is one transaction."""

    def __init__(self, db: Database, guild_config: GuildConfigRepository) -> None:
        self._db = db
        self._guilds = guild_config

    async def get(self, guild_id: int) -> GuildConfig:
        """The guild's configuration (defaults when nothing was saved)."""
        async with self._db.transaction() as tx:
            return await self._guilds.get_in(tx, guild_id)

    async def update(self, guild_id: int, **changes: Any) -> GuildConfig:
        """Change some fields (names as in ``GuildConfig``); the validated result is saved."""
        async with self._db.transaction() as tx:
            return await self._guilds.update_in(tx, guild_id, **changes)

    async def add_allowed_channel(self, guild_id: int, channel_id: int) -> GuildConfig:
        """Allow /imagine in one more channel (the first one limits it to the list)."""
        async with self._db.transaction() as tx:
            current = await self._guilds.get_in(tx, guild_id)
            channels = current.allowed_channel_ids | {channel_id}
            return await self._guilds.update_in(tx, guild_id, allowed_channel_ids=channels)

    async def remove_allowed_channel(self, guild_id: int, channel_id: int) -> GuildConfig | None:
        """Take a channel off the list; None when it was not on it."""
        async with self._db.transaction() as tx:
            current = await self._guilds.get_in(tx, guild_id)
            if channel_id not in current.allowed_channel_ids:
                return None
            channels = current.allowed_channel_ids - {channel_id}
            return await self._guilds.update_in(tx, guild_id, allowed_channel_ids=channels)

    async def add_banned_words(self, guild_id: int, words: Iterable[str]) -> GuildConfig:
        """Ban more words or phrases."""
        async with self._db.transaction() as tx:
            current = await self._guilds.get_in(tx, guild_id)
            banned = (*current.banned_words, *words)
            return await self._guilds.update_in(tx, guild_id, banned_words=banned)

    async def remove_banned_word(self, guild_id: int, word: str) -> GuildConfig | None:
        """Lift the ban on a word (as normalised for the list); None when it was not banned."""
        async with self._db.transaction() as tx:
            current = await self._guilds.get_in(tx, guild_id)
            if word not in current.banned_words:
                return None
            banned = tuple(other for other in current.banned_words if other != word)
            return await self._guilds.update_in(tx, guild_id, banned_words=banned)

    async def set_default_version(self, guild_id: int, version: str) -> str:
        """Set the default version; the version as the parser spells it ("5.0" -> "5").

        The server's default parameters must still parse on the new version.
        """
        stored = check_version(version)
        async with self._db.transaction() as tx:
            current = await self._guilds.get_in(tx, guild_id)
            check_defaults(current.default_params, default_version=stored)
            await self._guilds.update_in(tx, guild_id, default_version=stored)
        return stored

    async def set_default_params(self, guild_id: int, text: str) -> GuildConfig:
        """Set ("" clears) the parameters added to every prompt, checked on the server's version."""
        cleaned = text.strip()
        async with self._db.transaction() as tx:
            current = await self._guilds.get_in(tx, guild_id)
            if cleaned:
                check_saved_defaults(cleaned, default_version=current.default_version)
            return await self._guilds.update_in(tx, guild_id, default_params=cleaned)
