"""Short answers of the member's commands: speed modes, the suffix, custom options."""

from __future__ import annotations

from typing import Any

import discord

from bot.model import SpeedMode
from bot.ui.text import NO_MENTIONS, escape_prompt

ACCOUNT_COLOUR = discord.Colour.teal()
SPEED_NOTES: dict[SpeedMode, str] = {
    SpeedMode.TURBO: "Turbo mode: jobs start first and cost twice as much (V5 and later only).",
    SpeedMode.FAST: "Fast mode: jobs use your fast credits.",
    SpeedMode.RELAX: "Relax mode: jobs cost no credits and run when fast and turbo jobs allow.",
}


def speed_changed_message(mode: SpeedMode) -> str:
    """What /fast, /relax and /turbo answer."""
    return SPEED_NOTES[mode]


def suffix_message(suffix: str) -> str:
    """What /prefer suffix answers."""
    if not suffix:
        return "Your suffix is cleared."
    return f"Your suffix is now: {escape_prompt(suffix, limit=300)}\nIt is added to every /imagine."


def options_embed(options: dict[str, str]) -> discord.Embed:
    """The member's custom options (/prefer option list)."""
    embed = discord.Embed(title="Your custom options", colour=ACCOUNT_COLOUR)
    if not options:
        embed.description = "You have no custom options. Add one with /prefer option set."
        return embed
    embed.description = "\n".join(
        f"**--{escape_prompt(name, limit=40)}** → {escape_prompt(value, limit=200)}"
        for name, value in sorted(options.items())
    )
    return embed


async def reply_privately(
    interaction: discord.Interaction[Any],
    text: str | None = None,
    *,
    embed: discord.Embed | None = None,
) -> None:
    """Answer only the person who asked, with mentions off (every account and moderator reply)."""
    if embed is None:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.response.send_message(
            text, embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
