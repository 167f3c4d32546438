"""/queue and /cancel: a member's own waiting and running jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import JobNotFound
from bot.ui.account import cancelled_message, job_choice_name, queue_embed, reply_privately
from bot.ui.text import NO_MENTIONS

if TYPE_CHECKING:
    from bot.app import TesseraBot
    from bot.model import Job
    from bot.services import Services


ACTIVE_JOBS_LIMIT = 100
"""More than any sane per-member limit on waiting plus running jobs."""


class QueueCog(commands.Cog, name="Queue"):
    """Members look at and cancel their own jobs."""

    def __init__(self, bot: TesseraBot) -> None:
        self.bot = bot

    @property
    def services(self) -> Services:
        """The bot's services container."""
        return self.bot.services

    async def _active_jobs(self, interaction: discord.Interaction[Any]) -> list[Job]:
        return await self.services.jobs.user_jobs(
            guild_id=interaction.guild_id or 0,
            user_id=interaction.user.id,
            active_only=True,
            limit=ACTIVE_JOBS_LIMIT,
        )

    @app_commands.command(name="queue", description="Your waiting and running jobs")
    @app_commands.guild_only()
    async def queue(self, interaction: discord.Interaction[Any]) -> None:
        """Show the member's active jobs and the server's queue by speed class."""
        jobs = await self._active_jobs(interaction)
        overview = await self.services.jobs.queue_overview(guild_id=interaction.guild_id or 0)
        await reply_privately(interaction, embed=queue_embed(jobs, overview))

    @app_commands.command(
        name="cancel", description="Cancel one of your jobs; its credits come back"
    )
    @app_commands.describe(job_id="Which job (leave out for your newest waiting or running job)")
    @app_commands.guild_only()
    async def cancel(
        self, interaction: discord.Interaction[Any], job_id: int | None = None
    ) -> None:
        """Cancel a job (the newest active one by default) and say what was refunded."""
        # Cancelling a running job asks the provider, which may take longer than Discord waits.
        await interaction.response.defer(ephemeral=True, thinking=True)
        if job_id is None:
            jobs = await self._active_jobs(interaction)
            if not jobs:
                raise JobNotFound("You have no waiting or running jobs to cancel.")
            job_id = max(jobs, key=lambda job: (job.created_at, job.id)).id
        service = self.services.jobs
        # Moderators may cancel anyone's job, but only in the server they moderate.
        moderator = interaction.permissions.manage_guild
        if moderator:
            moderator = (await service.get(job_id)).guild_id == interaction.guild_id
        job = await service.cancel(job_id, user_id=interaction.user.id, moderator=moderator)
        text = cancelled_message(
            job, unit=self.services.settings.quota.unit_name, by=interaction.user.id
        )
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @cancel.autocomplete("job_id")
    async def cancel_job_id(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        """Offer the member's active jobs, newest first, matching what was typed."""
        jobs = sorted(await self._active_jobs(interaction), key=lambda job: job.id, reverse=True)
        typed = current.strip().lstrip("#").lower()
        return [
            app_commands.Choice(name=job_choice_name(job), value=job.id)
            for job in jobs
            if _matches(job, typed)
        ][:25]


def _matches(job: Job, typed: str) -> bool:
    # Digits are a job id being typed (prompts carry digits in their --seed); words search.
    if typed.isdigit():
        return str(job.id).startswith(typed)
    return typed in job.prompt.lower()


async def setup(bot: TesseraBot) -> None:
    """Load the cog (discord.py extension entry point)."""
    await bot.add_cog(QueueCog(bot))
