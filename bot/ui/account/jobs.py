"""A member's jobs and credits as /queue, /cancel and /info show them."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.model import Job, JobState, QueueOverview, SpeedMode
from bot.quota import Balance, format_credits
from bot.ui.account.messages import ACCOUNT_COLOUR
from bot.ui.pagination import fit_lines
from bot.ui.text import escape_prompt


def job_state_text(job: Job, *, position: int | None = None) -> str:
    """Where a job is, in words (``waiting, position 3``, ``running, 45%``)."""
    if job.state is JobState.QUEUED:
        position = position or job.queue_position
        return f"waiting, position {position}" if position else "waiting"
    if job.state is JobState.SUBMITTING:
        return "starting"
    if job.state is JobState.RUNNING:
        return f"running, {job.progress}%"
    return str(job.state)


def job_line(job: Job, *, position: int | None = None, limit: int = 80) -> str:
    """One job as a line of /queue and /info: id, speed, state and its escaped prompt."""
    return (
        f"`#{job.id}` {job.speed.value} · {job_state_text(job, position=position)}\n"
        f"> {escape_prompt(job.prompt, limit=limit)}"
    )


def job_choice_name(job: Job) -> str:
    """A job as an autocomplete choice (plain text, at most 100 characters)."""
    head = f"#{job.id} · {job_state_text(job)} · "
    prompt = " ".join(job.prompt.split())
    room = 100 - len(head)
    if len(prompt) > room:
        prompt = prompt[: room - 1] + "…"
    return head + prompt


def _counts(by_speed: dict[SpeedMode, int]) -> str:
    parts = [f"{by_speed[mode]} {mode.value}" for mode in SpeedMode if by_speed.get(mode)]
    return ", ".join(parts) or "none"


def queue_embed(jobs: Sequence[Job], overview: QueueOverview) -> discord.Embed:
    """/queue: the member's active jobs, then the server's queue by speed class."""
    embed = discord.Embed(title="Queue", colour=ACCOUNT_COLOUR)
    # Positions in the server's waiting list, oldest first; the scheduler's turn order also
    # weighs speed classes and fairness, so this is where a job stands, not a promise.
    positions = {waiting.id: index for index, waiting in enumerate(overview.waiting, start=1)}
    if jobs:
        lines = [job_line(job, position=positions.get(job.id)) for job in jobs]
        embed.add_field(name="Your jobs", value=fit_lines(lines), inline=False)
    else:
        embed.add_field(
            name="Your jobs", value="You have no waiting or running jobs.", inline=False
        )
    embed.add_field(name="Waiting in this server", value=_counts(overview.waiting_by_speed))
    embed.add_field(name="Running in this server", value=_counts(overview.running_by_speed))
    return embed


def cancelled_message(job: Job, *, unit: str, by: int | None = None) -> str:
    """What /cancel answers once a job is cancelled (``by``: who asked, if not the owner)."""
    whose = f" of <@{job.user_id}>" if by is not None and by != job.user_id else ""
    refund = f" Its {unit} were refunded ({format_credits(job.cost)})." if job.cost else ""
    return f"Job `#{job.id}`{whose} is cancelled.{refund}"


def _percent(part: int, whole: int) -> str:
    return f" ({part * 100 / whole:.0f}%)" if whole else ""


def credits_line(limit: int | None, remaining: int | None, unit: str) -> str:
    """``7.5/10 credits (75%)``, or ``unlimited``."""
    if limit is None or remaining is None:
        return "unlimited"
    return f"{format_credits(remaining)}/{format_credits(limit)} {unit}{_percent(remaining, limit)}"


def info_embed(
    *, speed: SpeedMode, balance: Balance, jobs: Sequence[Job], unit: str
) -> discord.Embed:
    """/info in the manner of Midjourney's: mode, credits left, lifetime usage, active jobs."""
    resets = discord.utils.format_dt(balance.period_end, "R")
    embed = discord.Embed(title="Your info", colour=ACCOUNT_COLOUR)
    embed.add_field(name="Job mode", value=speed.value.title())
    embed.add_field(
        name="Your credits",
        value=f"{credits_line(balance.member_limit, balance.member_remaining, unit)}"
        f"\nresets {resets}",
    )
    embed.add_field(
        name="Server pool",
        value=f"{credits_line(balance.guild_limit, balance.guild_remaining, unit)}"
        f"\nresets {resets}",
    )
    embed.add_field(
        name="Lifetime usage",
        value=f"{balance.lifetime_jobs} jobs ({format_credits(balance.lifetime_used)} {unit})",
        inline=False,
    )
    waiting = [job for job in jobs if job.state is JobState.QUEUED]
    for mode in SpeedMode:
        count = sum(1 for job in waiting if job.speed is mode)
        embed.add_field(name=f"Queued jobs ({mode.value})", value=str(count))
    running = [job for job in jobs if job.state is not JobState.QUEUED]
    embed.add_field(
        name="Running jobs",
        value=fit_lines([job_line(job) for job in running]) if running else "None",
        inline=False,
    )
    return embed
