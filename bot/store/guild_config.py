"""Per-guild configuration: channels, banned words, relax and button policies, limits, defaults."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Collection, Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.settings import SchedulerSettings
from bot.store.database import Database, Row, Transaction, marks


class RelaxPolicy(StrEnum):
    """What happens when a member's fast credits run out."""

    OFFER = "offer"
    """Refuse, and suggest /relax."""
    AUTO = "auto"
    """Queue the job as relax instead."""
    DENY = "deny"
    """Refuse; relax is not available in this guild."""


class ButtonPolicy(StrEnum):
    """Who may press a job's buttons."""

    ANYONE = "anyone"
    """Anyone in the channel; the presser is charged."""
    OWNER = "owner"
    """Only the member who made the job."""


class GuildLimits(BaseModel):
    """The queue limits in force in one guild (guild overrides over global settings)."""

    model_config = ConfigDict(frozen=True)

    max_running_per_user: int
    max_waiting_per_user: int
    max_running_per_guild: int
    """0: no limit below the provider's slots."""
    max_waiting_per_guild: int


class GuildConfig(BaseModel):
    """A guild's configuration; every field has a default until a moderator changes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    guild_id: int
    allowed_channel_ids: frozenset[int] = frozenset()
    """Channels where /imagine works; empty: every channel."""
    banned_words: tuple[str, ...] = ()
    """Lower-case words or phrases refused as whole words, case-insensitively."""
    relax_policy: RelaxPolicy = RelaxPolicy.OFFER
    button_policy: ButtonPolicy = ButtonPolicy.ANYONE
    max_running_per_user: int | None = Field(default=None, ge=1)
    max_waiting_per_user: int | None = Field(default=None, ge=1)
    max_running_per_guild: int | None = Field(default=None, ge=0)
    max_waiting_per_guild: int | None = Field(default=None, ge=1)
    default_version: str | None = None
    default_params: str = ""
    """Parameter text under every prompt in the guild, below each user's own defaults."""

    @field_validator("banned_words", mode="before")
    @classmethod
    def _normalise_words(cls, value: Iterable[str]) -> tuple[str, ...]:
        words = (" ".join(str(word).split()).lower() for word in value)
        return tuple(dict.fromkeys(word for word in words if word))

    def channel_allowed(self, channel_id: int, *, parent_id: int | None = None) -> bool:
        """Whether /imagine may run in this channel, or in this thread of ``parent_id``."""
        allowed = self.allowed_channel_ids
        return not allowed or channel_id in allowed or parent_id in allowed

    def banned_word_in(self, text: str) -> str | None:
        """The first banned word or phrase that ``text`` contains as whole words, if any."""
        if not self.banned_words:
            return None
        match = _banned_pattern(self.banned_words).search(text)
        return None if match is None else " ".join(match.group(0).split()).lower()

    def limits(self, settings: SchedulerSettings) -> GuildLimits:
        """The limits in force: this guild's overrides, else the global settings."""

        def pick(own: int | None, default: int) -> int:
            return default if own is None else own

        return GuildLimits(
            max_running_per_user=pick(self.max_running_per_user, settings.max_running_per_user),
            max_waiting_per_user=pick(self.max_waiting_per_user, settings.max_waiting_per_user),
            max_running_per_guild=pick(self.max_running_per_guild, settings.max_running_per_guild),
            max_waiting_per_guild=pick(self.max_waiting_per_guild, settings.max_waiting_per_guild),
        )


def _banned_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    # Whitespace inside a phrase matches any run of whitespace; \b keeps matches to whole words.
    alternatives = (r"\s+".join(re.escape(part) for part in word.split()) for word in words)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


_COLUMNS = (
    "allowed_channel_ids",
    "banned_words",
    "relax_policy",
    "button_policy",
    "max_running_per_user",
    "max_waiting_per_user",
    "max_running_per_guild",
    "max_waiting_per_guild",
    "default_version",
    "default_params",
)
_JSON_COLUMNS = frozenset({"allowed_channel_ids", "banned_words"})
_IN_LIST_MOST = 500


def _from_row(guild_id: int, row: Row) -> GuildConfig:
    data = {
        column: json.loads(row[column]) if column in _JSON_COLUMNS else row[column]
        for column in _COLUMNS
    }
    return GuildConfig.model_validate({"guild_id": guild_id, **data})


def _to_values(config: GuildConfig) -> list[Any]:
    dumped = config.model_dump(mode="json")
    dumped["allowed_channel_ids"] = sorted(config.allowed_channel_ids)
    return [
        json.dumps(dumped[column]) if column in _JSON_COLUMNS else dumped[column]
        for column in _COLUMNS
    ]


class GuildConfigRepository:
    """Reads and writes guild configuration; ``*_in`` methods run in a caller's transaction."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def get(self, guild_id: int) -> GuildConfig:
        """The guild's configuration (defaults when nothing was saved)."""
        async with self._db.transaction() as tx:
            return await self.get_in(tx, guild_id)

    async def get_in(self, tx: Transaction, guild_id: int) -> GuildConfig:
        """The guild's configuration, inside a transaction."""
        row = await tx.fetch_one(
            f"SELECT {', '.join(_COLUMNS)} FROM guild_config WHERE guild_id = ?",  # noqa: S608
            (guild_id,),
        )
        return GuildConfig(guild_id=guild_id) if row is None else _from_row(guild_id, row)

    async def running_limits_in(
        self, tx: Transaction, guild_ids: Collection[int]
    ) -> dict[int, tuple[int | None, int | None]]:
        """Guilds' own running limits (per user, per guild; None: the setting), one query.

        Only guilds that set one are listed. Many guilds (recovery): every guild that set one,
        rather than a parameter per guild.
        """
        if not guild_ids:
            return {}
        sql = (
            "SELECT guild_id, max_running_per_user, max_running_per_guild FROM guild_config"
            " WHERE (max_running_per_user IS NOT NULL OR max_running_per_guild IS NOT NULL)"
        )
        if len(guild_ids) <= _IN_LIST_MOST:
            rows = await tx.fetch_all(
                f"{sql} AND guild_id IN ({marks(len(guild_ids))})", tuple(guild_ids)
            )
        else:
            rows = await tx.fetch_all(sql)
        return {int(row[0]): (row[1], row[2]) for row in rows}

    async def update(self, guild_id: int, **changes: Any) -> GuildConfig:
        """Change some fields (names as in ``GuildConfig``); the validated result is saved."""
        async with self._db.transaction() as tx:
            return await self.update_in(tx, guild_id, **changes)

    async def update_in(self, tx: Transaction, guild_id: int, **changes: Any) -> GuildConfig:
        """``update`` inside a caller's transaction."""
        current = await self.get_in(tx, guild_id)
        config = GuildConfig.model_validate({**current.model_dump(), **changes})
        placeholders = ", ".join("?" for _ in _COLUMNS)
        assignments = ", ".join(f"{column} = excluded.{column}" for column in _COLUMNS)
        # Only the fixed column names above are interpolated; every value is a parameter.
        await tx.execute(
            f"INSERT INTO guild_config (guild_id, {', '.join(_COLUMNS)}, updated_at)"  # noqa: S608
            f" VALUES (?, {placeholders}, ?) ON CONFLICT (guild_id) DO UPDATE SET"
            f" {assignments}, updated_at = excluded.updated_at",
            (guild_id, *_to_values(config), self._clock()),
        )
        return config

    async def add_allowed_channel(self, guild_id: int, channel_id: int) -> GuildConfig:
        """Allow /imagine in one more channel (the first one limits it to the list)."""
        async with self._db.transaction() as tx:
            current = await self.get_in(tx, guild_id)
            channels = current.allowed_channel_ids | {channel_id}
            return await self.update_in(tx, guild_id, allowed_channel_ids=channels)

    async def remove_allowed_channel(self, guild_id: int, channel_id: int) -> GuildConfig:
        """Take a channel off the list (an empty list allows every channel again)."""
        async with self._db.transaction() as tx:
            current = await self.get_in(tx, guild_id)
            channels = current.allowed_channel_ids - {channel_id}
            return await self.update_in(tx, guild_id, allowed_channel_ids=channels)

    async def add_banned_words(self, guild_id: int, words: Iterable[str]) -> GuildConfig:
        """Ban more words or phrases."""
        async with self._db.transaction() as tx:
            current = await self.get_in(tx, guild_id)
            banned = (*current.banned_words, *words)
            return await self.update_in(tx, guild_id, banned_words=banned)

    async def remove_banned_words(self, guild_id: int, words: Iterable[str]) -> GuildConfig:
        """Lift bans on words or phrases (matched case-insensitively)."""
        lifted = set(GuildConfig(guild_id=guild_id, banned_words=tuple(words)).banned_words)
        async with self._db.transaction() as tx:
            current = await self.get_in(tx, guild_id)
            banned = tuple(word for word in current.banned_words if word not in lifted)
            return await self.update_in(tx, guild_id, banned_words=banned)
