"""``/imagine``: parse the prompt, queue the jobs, post their status lines."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.outbound.hosts import host_names
from bot.prompt import DEFAULT_VERSION, PromptError, suggest
from bot.quota import format_credits
from bot.ui.channel import parent_channel_id, require_channel_permissions
from bot.ui.confirm import ConfirmView, confirm_question
from bot.ui.errors import send_error
from bot.ui.members import role_ids
from bot.ui.prompting import build_prompts, describe_prompt_error

if TYPE_CHECKING:
    from bot.app import TesseraBot
    from bot.model import Job, SpeedMode
    from bot.prompt import Prompt
    from bot.services import Services

log = logging.getLogger(__name__)

PROMPT_MAX_LENGTH = 6000


class ImagineCog(commands.Cog):
    """The ``/imagine`` command and its prompt autocomplete."""

    def __init__(self, bot: TesseraBot) -> None:
        self.bot = bot

    @property
    def services(self) -> Services:
        """The bot's services container."""
        services: Services = self.bot.services
        return services

    @app_commands.command(name="imagine", description="Create images from a text prompt")
    @app_commands.describe(prompt="What to imagine, followed by --parameters")
    @app_commands.guild_only()
    async def imagine(
        self,
        interaction: discord.Interaction[Any],
        prompt: app_commands.Range[str, 1, PROMPT_MAX_LENGTH],
    ) -> None:
        """Queue one job per expanded prompt and post each job's public status line."""
        require_channel_permissions(interaction)
        if interaction.guild_id is None or interaction.channel_id is None:
            return
        # Everything after this reads the database; answer Discord first (3-second rule).
        await interaction.response.defer(ephemeral=True, thinking=True)
        services = self.services
        defaults = await services.account.prompt_defaults(
            guild_id=interaction.guild_id, user_id=interaction.user.id
        )
        guild, user = defaults.guild, defaults.user
        try:
            prompts = build_prompts(
                prompt,
                defaults=[text for text in (guild.default_params, user.default_params) if text],
                suffix=user.suffix,
                options=user.options,
                default_version=guild.default_version or DEFAULT_VERSION,
                # The hosts the fetcher is allowed to reach may be named in prompts too.
                allowed_hosts=host_names(services.settings.outbound.allowed_hosts),
            )
        except PromptError as exc:
            await send_error(interaction, describe_prompt_error(prompt, exc))
            return
        speed = user.speed
        if len(prompts) > services.settings.scheduler.confirm_above:
            # Asking to confirm jobs that the waiting limit would then refuse helps nobody.
            await services.jobs.check_waiting_room(
                guild_id=interaction.guild_id, user_id=interaction.user.id, count=len(prompts)
            )
            if not await self._confirm(interaction, prompts, speed):
                return
        jobs = await services.jobs.submit(
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=interaction.user.id,
            role_ids=role_ids(interaction.user),
            prompts=prompts,
            speed=speed,
            parent_channel_id=parent_channel_id(interaction),
        )
        await services.board.announce_all(jobs)
        try:
            await interaction.followup.send(_queued_note(jobs), ephemeral=True)
        except discord.HTTPException:
            # The jobs are queued and their status lines posted; the note is a courtesy.
            log.info("could not confirm queued jobs to user %s", interaction.user.id)

    @imagine.autocomplete("prompt")
    async def prompt_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """Complete the parameter being typed (names, the member's options, then values)."""
        options = await self.services.account.options(interaction.user.id)
        return [
            app_commands.Choice(name=text, value=text) for text in suggest(current, options=options)
        ]

    async def _confirm(
        self, interaction: discord.Interaction[Any], prompts: list[Prompt], speed: SpeedMode
    ) -> bool:
        costs = self.services.costs
        total = sum(
            costs.cost(
                "imagine",
                speed=p.params.speed or speed,
                quality=p.params.quality,
                draft=p.params.draft,
                oref=p.params.oref is not None,
            )
            for p in prompts
        )
        unit = self.services.settings.quota.unit_name
        question = confirm_question(len(prompts), f"{format_credits(total)} {unit}")
        return await ConfirmView(interaction.user.id).ask(interaction, question)


def _queued_note(jobs: list[Job]) -> str:
    ids = ", ".join(f"#{job.id}" for job in jobs[:10]) + (", ..." if len(jobs) > 10 else "")
    noun = "job" if len(jobs) == 1 else "jobs"
    return f"Queued {len(jobs)} {noun} ({ids}). Progress appears in the channel; /cancel stops it."
