"""Text of the public status line, the result message and the owner's Info embed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import discord

from bot.errors import FailureKind
from bot.model import Action, JobKind, JobState
from bot.quota import format_credits
from bot.ui.text import clause, escape_prompt

if TYPE_CHECKING:
    from bot.model import Job

# Room for the decorations around the prompt within Discord's 2000-character content limit.
PROMPT_LIMIT = 1500
INFO_COLOUR = discord.Colour.blurple()

_ACTION_TITLES: dict[Action, str] = {
    Action.REROLL: "Reroll",
    Action.VARY_SUBTLE: "Variations (Subtle)",
    Action.VARY_STRONG: "Variations (Strong)",
    Action.ZOOM_OUT_2X: "Zoom Out 2x",
    Action.ZOOM_OUT_1_5X: "Zoom Out 1.5x",
    Action.PAN_LEFT: "Pan Left",
    Action.PAN_RIGHT: "Pan Right",
    Action.PAN_UP: "Pan Up",
    Action.PAN_DOWN: "Pan Down",
    Action.UPSCALE_SUBTLE: "Upscaled (Subtle)",
    Action.UPSCALE_CREATIVE: "Upscaled (Creative)",
    Action.ENHANCE: "Enhanced",
}

_FAILURE_REASONS: dict[FailureKind, str] = {
    FailureKind.BANNED_PROMPT: "the prompt contains a banned word",
    FailureKind.MODERATION: "the image provider's moderation blocked it",
    FailureKind.FAST_HOURS_EXHAUSTED: "the image provider's fast hours are used up",
    FailureKind.QUEUE_FULL: "the image provider's queue stayed full",
    FailureKind.PARENT_EXPIRED: "the original image has expired at the image provider",
    FailureKind.INVALID_REQUEST: "the image provider rejected the request",
    FailureKind.PROVIDER_ERROR: "the image provider reported an error",
    FailureKind.UNAVAILABLE: "the image provider is unavailable",
    FailureKind.TIMEOUT: "it took too long and was stopped",
    FailureKind.CANCELLED: "it was cancelled",
    FailureKind.DELIVERY: "the result could not be posted in this channel",
}


def _prompt(job: Job) -> str:
    return f"**{escape_prompt(job.prompt, limit=PROMPT_LIMIT)}**"


def _what(job: Job) -> str:
    """The part between the prompt and the phase: what kind of job and whose."""
    owner = f"<@{job.user_id}>"
    if job.kind is JobKind.UPSCALE:
        return f"Image #{job.action_index} {owner}"
    if job.kind is JobKind.VARIATION:
        return f"Variations (V{job.action_index}) by {owner}"
    if job.action is not None and job.action in _ACTION_TITLES:
        return f"{_ACTION_TITLES[job.action]} by {owner}"
    return owner


def refund_note(job: Job, unit: str = "credits") -> str:
    """Say what happened to the job's reservation after a failure or a cancel."""
    if job.cost <= 0:
        return "Nothing was charged."
    return f"Your {format_credits(job.cost)} {unit} were refunded."


def failure_reason(job: Job) -> str:
    """One sentence saying why the job failed, naming the provider's reason when given."""
    kind = job.failure_kind or FailureKind.PROVIDER_ERROR
    reason = _FAILURE_REASONS.get(kind, _FAILURE_REASONS[FailureKind.PROVIDER_ERROR])
    if job.failure_message:
        return f"Failed: {reason} ({escape_prompt(clause(job.failure_message), limit=200)})."
    return f"Failed: {reason}."


def phase(job: Job, unit: str = "credits") -> str:
    """The parenthesised state shown at the end of the status line."""
    if job.state is JobState.QUEUED:
        return "Waiting to start"
    if job.state in (JobState.SUBMITTING, JobState.RUNNING):
        return f"{job.progress}%" if job.progress > 0 else "Starting"
    if job.state is JobState.SUCCEEDED:
        return "Done"
    if job.state is JobState.CANCELLED:
        return f"Cancelled. {refund_note(job, unit)}"
    return f"{failure_reason(job)} {refund_note(job, unit)}"


def status_content(job: Job, unit: str = "credits") -> str:
    """The public status line: ``**prompt** - <@user> (45%) (fast)``."""
    speed = "" if job.state.terminal else f" ({job.speed.value})"
    return f"{_prompt(job)} - {_what(job)} ({phase(job, unit)}){speed}"


NOTES_LIMIT = 300
"""Room for the provider's notes below the result line (Discord allows 2000 characters)."""


def result_content(job: Job, notes: Sequence[str] = ()) -> str:
    """The text of the result message, in Midjourney's manner, then the provider's notes."""
    speed = "" if job.kind is JobKind.UPSCALE else f" ({job.speed.value})"
    line = f"{_prompt(job)} - {_what(job)}{speed}"
    if not notes:
        return line
    # Small print under the result: what the provider could not honour, said every time.
    shown = escape_prompt(" ".join(notes), limit=NOTES_LIMIT)
    return f"{line}\n-# \N{WARNING SIGN}\N{VARIATION SELECTOR-16} {shown}"


def preview_embeds(job: Job, attachment: str | None = None) -> list[discord.Embed]:
    """The low-resolution preview while the job runs: the provider's URL, or an attachment."""
    if job.state.terminal or not job.preview_url:
        return []
    if attachment is not None:
        return [discord.Embed(colour=INFO_COLOUR).set_image(url=f"attachment://{attachment}")]
    if not _is_web_url(job.preview_url):
        # Discord refuses the whole edit (50035) for an image that is not an http(s) URL.
        return []
    return [discord.Embed(colour=INFO_COLOUR).set_image(url=job.preview_url)]


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def info_embed(job: Job, unit: str = "credits") -> discord.Embed:
    """The owner-only Info card: seed, canonical prompt, job id and cost."""
    embed = discord.Embed(title=f"Job #{job.id}", colour=INFO_COLOUR)
    embed.description = escape_prompt(job.prompt, limit=3500)
    embed.add_field(name="Seed", value=str(job.seed))
    embed.add_field(name="Cost", value=f"{format_credits(job.cost)} {unit}")
    embed.add_field(name="Speed", value=job.speed.value)
    embed.add_field(name="Kind", value=job.kind.value)
    embed.add_field(name="State", value=job.state.value)
    if job.parent_id is not None:
        embed.add_field(name="Made from", value=f"Job #{job.parent_id}")
    return embed
