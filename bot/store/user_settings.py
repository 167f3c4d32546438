"""Per-user settings: speed mode, default parameters, the /prefer suffix and custom options."""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from bot.errors import UserFacingError
from bot.model import SpeedMode
from bot.store.database import Database, Transaction

MAX_OPTIONS = 50
"""Custom options one user may keep (/prefer option set)."""


class UserSettings(BaseModel):
    """A user's saved choices; defaults until the user changes something."""

    model_config = ConfigDict(frozen=True)

    user_id: int
    speed: SpeedMode = SpeedMode.FAST
    default_params: str = ""
    """Parameter text added under every prompt (from /settings), e.g. ``--v 6 --s 250``."""
    suffix: str = ""
    """The /prefer suffix appended to every prompt."""
    options: dict[str, str] = {}
    """Custom options: name -> parameter text (``--name`` in a prompt expands to it)."""


def option_name(name: str) -> str:
    """The stored form of an option name (no leading dashes, lower case)."""
    cleaned = name.strip().lstrip("-").strip().lower()
    if not cleaned or any(ch.isspace() for ch in cleaned):
        raise UserFacingError(f"An option name is one word without spaces, not {name!r}.")
    return cleaned


class UserSettingsRepository:
    """Reads and writes user settings; ``*_in`` methods run in a caller's transaction."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def get(self, user_id: int) -> UserSettings:
        """The user's settings (defaults when none were saved)."""
        async with self._db.transaction() as tx:
            return await self.get_in(tx, user_id)

    async def get_in(self, tx: Transaction, user_id: int) -> UserSettings:
        """The user's settings, inside a transaction."""
        row = await tx.fetch_one(
            "SELECT speed, default_params, suffix FROM user_settings WHERE user_id = ?",
            (user_id,),
        )
        options = await self._options_in(tx, user_id)
        if row is None:
            return UserSettings(user_id=user_id, options=options)
        return UserSettings(
            user_id=user_id,
            speed=SpeedMode(row["speed"]) if row["speed"] else SpeedMode.FAST,
            default_params=row["default_params"],
            suffix=row["suffix"],
            options=options,
        )

    async def speed_in(self, tx: Transaction, user_id: int) -> SpeedMode:
        """The user's speed mode, inside a transaction."""
        speed = await tx.fetch_value(
            "SELECT speed FROM user_settings WHERE user_id = ?", (user_id,)
        )
        return SpeedMode(speed) if speed else SpeedMode.FAST

    async def set_speed(self, user_id: int, speed: SpeedMode) -> UserSettings:
        """Save the user's speed mode."""
        return await self._set(user_id, "speed", speed.value)

    async def set_speed_in(self, tx: Transaction, user_id: int, speed: SpeedMode) -> UserSettings:
        """``set_speed`` inside a caller's transaction."""
        return await self._set_in(tx, user_id, "speed", speed.value)

    async def set_default_params_in(self, tx: Transaction, user_id: int, text: str) -> UserSettings:
        """``set_default_params`` inside a caller's transaction."""
        return await self._set_in(tx, user_id, "default_params", text.strip())

    async def set_suffix_in(self, tx: Transaction, user_id: int, text: str) -> UserSettings:
        """``set_suffix`` inside a caller's transaction."""
        return await self._set_in(tx, user_id, "suffix", text.strip())

    async def set_default_params(self, user_id: int, text: str) -> UserSettings:
        """Save the parameter text added under every prompt ("" clears it)."""
        return await self._set(user_id, "default_params", text.strip())

    async def set_suffix(self, user_id: int, text: str) -> UserSettings:
        """Save the /prefer suffix ("" clears it)."""
        return await self._set(user_id, "suffix", text.strip())

    async def set_option(self, user_id: int, name: str, value: str) -> UserSettings:
        """Create or replace a custom option."""
        async with self._db.transaction() as tx:
            return await self.set_option_in(tx, user_id, name, value)

    async def set_option_in(
        self, tx: Transaction, user_id: int, name: str, value: str
    ) -> UserSettings:
        """``set_option`` inside a caller's transaction."""
        key = option_name(name)
        options = await self._options_in(tx, user_id)
        if key not in options and len(options) >= MAX_OPTIONS:
            raise UserFacingError(
                f"You can keep at most {MAX_OPTIONS} custom options; delete one first."
            )
        await tx.execute(
            "INSERT INTO user_options (user_id, name, value, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (user_id, key, value.strip(), self._clock()),
        )
        return await self.get_in(tx, user_id)

    async def delete_option(self, user_id: int, name: str) -> bool:
        """Delete a custom option; whether it existed."""
        async with self._db.transaction() as tx:
            removed = await tx.execute(
                "DELETE FROM user_options WHERE user_id = ? AND name = ?",
                (user_id, option_name(name)),
            )
        return removed == 1

    async def options(self, user_id: int) -> dict[str, str]:
        """The user's custom options by name."""
        async with self._db.transaction() as tx:
            return await self._options_in(tx, user_id)

    async def _options_in(self, tx: Transaction, user_id: int) -> dict[str, str]:
        rows = await tx.fetch_all(
            "SELECT name, value FROM user_options WHERE user_id = ? ORDER BY name", (user_id,)
        )
        return {row["name"]: row["value"] for row in rows}

    async def _set(self, user_id: int, column: str, value: str) -> UserSettings:
        async with self._db.transaction() as tx:
            return await self._set_in(tx, user_id, column, value)

    async def _set_in(self, tx: Transaction, user_id: int, column: str, value: str) -> UserSettings:
        if column not in {"speed", "default_params", "suffix"}:
            raise ValueError(f"not a user setting: {column}")
        await tx.execute(
            "INSERT INTO user_settings (user_id, updated_at) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO NOTHING",
            (user_id, self._clock()),
        )
        # The column name was checked against the fixed set above; the value is a parameter.
        await tx.execute(
            f"UPDATE user_settings SET {column} = ?, updated_at = ? WHERE user_id = ?",  # noqa: S608
            (value, self._clock(), user_id),
        )
        return await self.get_in(tx, user_id)
