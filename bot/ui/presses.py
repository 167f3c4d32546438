"""What happens when someone presses a job button."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.errors import AlreadyMade, NotAllowed
from bot.model import Action
from bot.ui.actions import CANCEL, INFO, parse_token
from bot.ui.channel import parent_channel_id, require_channel_permissions
from bot.ui.errors import report_error
from bot.ui.status import info_embed, refund_note

if TYPE_CHECKING:
    from bot.services import Services


def services_of(interaction: discord.Interaction[Any]) -> Services:
    """The services container of the bot that received ``interaction``."""
    services: Services = interaction.client.services
    return services


def role_ids(user: discord.User | discord.Member) -> list[int]:
    """The member's role ids (none outside a guild)."""
    return [role.id for role in user.roles] if isinstance(user, discord.Member) else []


async def handle_press(interaction: discord.Interaction[Any], job_id: int, token: str) -> None:
    """Run a job button press; refusals (and bugs) become an ephemeral note for the presser."""
    try:
        decoded = parse_token(token)
        if decoded is None:
            raise NotAllowed("This button is no longer supported; run /imagine again.")
        if decoded.token == INFO:
            await _show_info(interaction, job_id)
        elif decoded.token == CANCEL:
            await _cancel(interaction, job_id)
        elif decoded.action is not None:
            await _run_action(interaction, job_id, decoded.action, decoded.index)
    except Exception as exc:
        # Button callbacks bypass the command tree's handler: report here, the same way.
        await report_error(interaction, exc)


async def _show_info(interaction: discord.Interaction[Any], job_id: int) -> None:
    services = services_of(interaction)
    job = await services.jobs.get(job_id)
    if job.user_id != interaction.user.id:
        raise NotAllowed("Only the person who made this image can see its details.")
    unit = services.settings.quota.unit_name
    await interaction.response.send_message(embed=info_embed(job, unit), ephemeral=True)


async def _cancel(interaction: discord.Interaction[Any], job_id: int) -> None:
    services = services_of(interaction)
    # Cancelling a running job waits on the provider (retried): answer within Discord's 3 s.
    await interaction.response.defer(ephemeral=True, thinking=True)
    job = await services.jobs.cancel(
        job_id,
        user_id=interaction.user.id,
        moderator=interaction.permissions.manage_guild,
    )
    note = refund_note(job, services.settings.quota.unit_name)
    await interaction.followup.send(f"Cancelled job #{job.id}. {note}", ephemeral=True)


async def _run_action(
    interaction: discord.Interaction[Any], job_id: int, action: Action, index: int
) -> None:
    services = services_of(interaction)
    require_channel_permissions(interaction)
    if interaction.channel_id is None:
        raise NotAllowed("Job buttons only work in a server channel.")
    # A silent acknowledgement: the new job's public status line is the visible answer.
    await interaction.response.defer()
    try:
        child = await services.jobs.submit_action(
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
    await services.board.announce(child)


def message_link(guild_id: int, channel_id: int, message_id: int) -> str:
    """A message's jump URL, which Discord shows as a link to it."""
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"
