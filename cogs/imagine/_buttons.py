"""Presses of job buttons: info, cancel and the follow-up actions (upscale, vary, reroll ...).

``bot.ui.buttons`` renders the buttons and turns a press into the bot event ``PRESS_EVENT``;
this cog registers their ``custom_id`` template when it loads (so buttons posted before a
restart are recognised), takes it away when it unloads, and handles the event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.errors import AlreadyMade, NotAllowed
from bot.ui.actions import CANCEL, INFO, parse_token
from bot.ui.buttons import PRESS_EVENT, JobButton
from bot.ui.channel import parent_channel_id, require_channel_permissions
from bot.ui.errors import report_error
from bot.ui.members import role_ids
from bot.ui.status import info_embed, refund_note
from bot.ui.text import message_link

if TYPE_CHECKING:
    from bot.app import TesseraBot
    from bot.model import Action
    from bot.services import Services


class JobButtonsCog(commands.Cog, name="Job buttons"):
    """Runs a job button press: the job is read from the database when it is pressed."""

    def __init__(self, bot: TesseraBot) -> None:
        self.bot = bot

    @property
    def services(self) -> Services:
        """The bot's services container."""
        return self.bot.services

    async def cog_load(self) -> None:
        """Recognise presses of job buttons, old messages' included."""
        self.bot.add_dynamic_items(JobButton)

    async def cog_unload(self) -> None:
        """Stop recognising job buttons."""
        self.bot.remove_dynamic_items(JobButton)

    @commands.Cog.listener(f"on_{PRESS_EVENT}")
    async def press(self, interaction: discord.Interaction[Any], job_id: int, token: str) -> None:
        """Run a press; refusals (and bugs) become an ephemeral note for the presser."""
        try:
            decoded = parse_token(token)
            if decoded is None:
                raise NotAllowed("This button is no longer supported; run /imagine again.")
            if decoded.token == INFO:
                await self._show_info(interaction, job_id)
            elif decoded.token == CANCEL:
                await self._cancel(interaction, job_id)
            elif decoded.action is not None:
                await self._run_action(interaction, job_id, decoded.action, decoded.index)
        except Exception as exc:
            # Button callbacks bypass the command tree's handler: report here, the same way.
            await report_error(interaction, exc)

    async def _show_info(self, interaction: discord.Interaction[Any], job_id: int) -> None:
        job = await self.services.jobs.get(job_id)
        if job.user_id != interaction.user.id:
            raise NotAllowed("Only the person who made this image can see its details.")
        unit = self.services.settings.quota.unit_name
        await interaction.response.send_message(embed=info_embed(job, unit), ephemeral=True)

    async def _cancel(self, interaction: discord.Interaction[Any], job_id: int) -> None:
        # Cancelling a running job waits on the provider (retried): answer within Discord's 3 s.
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self.services.jobs.cancel(
            job_id,
            user_id=interaction.user.id,
            moderator=interaction.permissions.manage_guild,
        )
        note = refund_note(job, self.services.settings.quota.unit_name)
        await interaction.followup.send(f"Cancelled job #{job.id}. {note}", ephemeral=True)

    async def _run_action(
        self, interaction: discord.Interaction[Any], job_id: int, action: Action, index: int
    ) -> None:
        require_channel_permissions(interaction)
        if interaction.channel_id is None:
            raise NotAllowed("Job buttons only work in a server channel.")
        # A silent acknowledgement: the new job's public status line is the visible answer.
        await interaction.response.defer()
        try:
            child = await self.services.jobs.submit_action(
                parent_id=job_id,
                action=action,
                index=index,
                user_id=interaction.user.id,
                role_ids=role_ids(interaction.user),
                channel_id=interaction.channel_id,
                parent_channel_id=parent_channel_id(interaction),
            )
        except AlreadyMade as made:
            link = message_link(made.guild_id, made.channel_id, made.message_id)
            await interaction.followup.send(
                f"That image is already here: {link} (job #{made.job_id}, nothing charged).",
                ephemeral=True,
            )
            return
        await self.services.board.announce(child)
