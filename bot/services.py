"""The services container the cogs read through ``bot.services``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Type-only imports: this module must import cleanly before (and without)
    # the service packages, so the bot shell and the cogs can depend on it.
    from bot.account import AccountService, GuildConfigService
    from bot.jobs import Dispatcher, JobEvents, JobService
    from bot.providers.base import ImageProvider
    from bot.quota import CostModel, QuotaService
    from bot.settings import Settings
    from bot.ui.board import StatusBoard


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a cog needs, built once by the runtime."""

    settings: Settings
    jobs: JobService
    quota: QuotaService
    costs: CostModel
    account: AccountService
    """A member's own settings (/settings, /prefer, speed modes)."""
    guild_config: GuildConfigService
    """A server's configuration (/guild-config)."""
    provider: ImageProvider
    dispatcher: Dispatcher
    events: JobEvents
    board: StatusBoard
    """Posts and edits the public status messages of jobs."""
