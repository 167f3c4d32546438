"""A member's account: speed mode, defaults, suffix and custom options.

Each change is checked against the server's configuration and saved in the transaction that
read both, so a moderator's change in between cannot slip past the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.account.checks import check_defaults, check_option, check_saved_defaults, check_suffix
from bot.errors import NotAllowed
from bot.jobs.speeds import RELAX_DENIED
from bot.model import SpeedMode
from bot.prompt import PromptError
from bot.store.guild_config import GuildConfig, RelaxPolicy

if TYPE_CHECKING:
    from bot.store.database import Database
    from bot.store.guild_config import GuildConfigRepository
    from bot.store.user_settings import UserSettings, UserSettingsRepository


@dataclass(frozen=True, slots=True)
class PromptDefaults:
    """What every prompt of a member in a guild is layered over, read together."""

    guild: GuildConfig
    user: UserSettings


@dataclass(frozen=True, slots=True)
class SpeedChange:
    """A member's settings after a speed change, and whether turbo can run with them."""

    settings: UserSettings
    turbo_blocked: bool
    """Turbo was chosen but the member's default version (theirs, else the server's) is too
    old for it: their prompts will need a newer ``--v``."""


class AccountService:
    """Reads and changes a member's own settings; each call is one transaction."""

    def __init__(
        self,
        db: Database,
        user_settings: UserSettingsRepository,
        guild_config: GuildConfigRepository,
    ) -> None:
        self._db = db
        self._users = user_settings
        self._guilds = guild_config

    async def settings(self, user_id: int) -> UserSettings:
        """The member's settings (defaults when none were saved)."""
        async with self._db.transaction() as tx:
            return await self._users.get_in(tx, user_id)

    async def options(self, user_id: int) -> dict[str, str]:
        """The member's custom options by name (autocomplete asks on every keystroke)."""
        return await self._users.options(user_id)

    async def prompt_defaults(self, *, guild_id: int, user_id: int) -> PromptDefaults:
        """The guild's configuration and the member's settings, as one consistent read."""
        async with self._db.transaction() as tx:
            guild = await self._guilds.get_in(tx, guild_id)
            return PromptDefaults(guild, await self._users.get_in(tx, user_id))

    async def set_speed(self, *, guild_id: int, user_id: int, speed: SpeedMode) -> SpeedChange:
        """Switch the member's speed mode, where the server allows it."""
        async with self._db.transaction() as tx:
            config = await self._guilds.get_in(tx, guild_id)
            _allow_speed(config, speed)
            stored = await self._users.set_speed_in(tx, user_id, speed)
        return SpeedChange(stored, speed is SpeedMode.TURBO and not _turbo_works(config, stored))

    async def save_settings(
        self, *, guild_id: int, user_id: int, speed: SpeedMode, default_params: str
    ) -> UserSettings:
        """Save /settings: the speed mode and the default parameters, changed ones checked."""
        async with self._db.transaction() as tx:
            stored = await self._users.get_in(tx, user_id)
            config = await self._guilds.get_in(tx, guild_id)
            if speed != stored.speed:
                _allow_speed(config, speed)
                stored = await self._users.set_speed_in(tx, user_id, speed)
            if default_params != stored.default_params:
                check_saved_defaults(
                    default_params,
                    below=[config.default_params],
                    default_version=config.default_version,
                )
                stored = await self._users.set_default_params_in(tx, user_id, default_params)
            return stored

    async def set_suffix(self, *, guild_id: int, user_id: int, text: str) -> UserSettings:
        """Set the /prefer suffix ("" clears it), checked over the layers below it."""
        cleaned = text.strip()
        async with self._db.transaction() as tx:
            if cleaned:
                stored = await self._users.get_in(tx, user_id)
                config = await self._guilds.get_in(tx, guild_id)
                check_suffix(
                    cleaned,
                    options=stored.options,
                    below=[config.default_params, stored.default_params],
                    default_version=config.default_version,
                )
            return await self._users.set_suffix_in(tx, user_id, cleaned)

    async def set_option(self, *, user_id: int, name: str, value: str) -> str:
        """Create or change a custom option after checking it; the name as stored."""
        async with self._db.transaction() as tx:
            stored = await self._users.get_in(tx, user_id)
            key = check_option(name, value, options=stored.options)
            # The repository refuses an option past MAX_OPTIONS, in this transaction.
            await self._users.set_option_in(tx, user_id, key, value)
        return key

    async def delete_option(self, *, user_id: int, name: str) -> bool:
        """Delete a custom option; whether it existed."""
        return await self._users.delete_option(user_id, name)


def _allow_speed(config: GuildConfig, speed: SpeedMode) -> None:
    if speed is SpeedMode.RELAX and config.relax_policy is RelaxPolicy.DENY:
        raise NotAllowed(RELAX_DENIED)


def _turbo_works(config: GuildConfig, stored: UserSettings) -> bool:
    try:
        check_defaults(
            "--turbo",
            below=[config.default_params, stored.default_params],
            default_version=config.default_version,
        )
    except PromptError:
        return False
    return True
