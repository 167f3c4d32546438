"""The confirmation asked before queueing many jobs from one prompt."""

from __future__ import annotations

from typing import Any

import discord

from bot.ui.pagination import OwnedView

CONFIRM_TIMEOUT = 120.0
"""Seconds to wait for an answer; well inside the interaction token's 15 minutes."""


class ConfirmView(OwnedView):
    """Queue / Never mind buttons for the person who ran the command (the message is ephemeral)."""

    not_yours = "Only the person who ran this command can answer."
    timeout_content = "No answer in time: nothing was queued or charged."

    def __init__(self, owner_id: int, *, timeout: float = CONFIRM_TIMEOUT) -> None:
        super().__init__(owner_id=owner_id, timeout=timeout)
        self.confirmed = False

    async def ask(self, interaction: discord.Interaction[Any], question: str) -> bool:
        """Ask ``question`` on the deferred ``interaction``; True once the owner accepts."""
        await self.show_followup(interaction, question)
        await self.wait()
        return self.confirmed

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
