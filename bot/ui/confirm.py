"""The confirmation asked before queueing many jobs from one prompt."""

from __future__ import annotations

from typing import Any

import discord

CONFIRM_TIMEOUT = 120.0
"""Seconds to wait for an answer; well inside the interaction token's 15 minutes."""


class ConfirmView(discord.ui.View):
    """Queue / Never mind buttons for the person who ran the command (the message is ephemeral)."""

    def __init__(self, owner_id: int, *, timeout: float = CONFIRM_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.confirmed = False

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Only the owner answers (a safety net: the message is ephemeral anyway)."""
        return interaction.user.id == self.owner_id

    @discord.ui.button(label="Queue them", style=discord.ButtonStyle.primary)
    async def confirm(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[ConfirmView]
    ) -> None:
        """Accept: the command goes on to queue the jobs."""
        self.confirmed = True
        await interaction.response.edit_message(content="Queueing...", view=None)
        self.stop()

    @discord.ui.button(label="Never mind", style=discord.ButtonStyle.secondary)
    async def decline(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[ConfirmView]
    ) -> None:
        """Decline: nothing is queued or charged."""
        await interaction.response.edit_message(content="Nothing was queued or charged.", view=None)
        self.stop()


def confirm_question(count: int, cost_text: str) -> str:
    """The question shown before queueing ``count`` jobs."""
    return f"This prompt makes **{count} jobs** ({cost_text} in total). Queue them all?"
