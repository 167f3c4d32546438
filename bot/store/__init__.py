"""Persistence: the database, its migrations and the repositories (no discord)."""

from bot.store.database import Database, Row, Transaction
from bot.store.guild_config import (
    ButtonPolicy,
    GuildConfig,
    GuildConfigRepository,
    GuildLimits,
    RelaxPolicy,
)
from bot.store.user_settings import UserSettings, UserSettingsRepository

__all__ = [
    "ButtonPolicy",
    "Database",
    "GuildConfig",
    "GuildConfigRepository",
    "GuildLimits",
    "RelaxPolicy",
    "Row",
    "Transaction",
    "UserSettings",
    "UserSettingsRepository",
]
