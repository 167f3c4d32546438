"""/imagine and the buttons under its jobs (upscale, variation, reroll, info, cancel)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.imagine._buttons import JobButtonsCog
from cogs.imagine._command import ImagineCog

if TYPE_CHECKING:
    from bot.app import TesseraBot

__all__ = ["ImagineCog", "JobButtonsCog", "setup"]


async def setup(bot: TesseraBot) -> None:
    """Load the /imagine and job-button cogs (discord.py extension entry point)."""
    await bot.add_cog(ImagineCog(bot))
    await bot.add_cog(JobButtonsCog(bot))
