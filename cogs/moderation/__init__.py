"""Moderator commands: /quota and /guild-config (Manage Server, checked again at run time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.moderation._config import GuildConfigCog
from cogs.moderation._quota import QuotaCog

if TYPE_CHECKING:
    from bot.app import TesseraBot

__all__ = ["GuildConfigCog", "QuotaCog", "setup"]


async def setup(bot: TesseraBot) -> None:
    """Load the moderator cogs (discord.py extension entry point)."""
    await bot.add_cog(QuotaCog(bot))
    await bot.add_cog(GuildConfigCog(bot))
