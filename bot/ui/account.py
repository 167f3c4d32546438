"""Rendering for the member's own commands: /info, /settings, /prefer, speed modes."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import discord

from bot.errors import UserFacingError
from bot.jobs import Job, JobState, QueueOverview
from bot.prompt import (
    DEFAULT_VERSION,
    NIJI_VERSIONS,
    PARAMETERS,
    VERSIONS,
    Prompt,
    PromptError,
    is_reserved_name,
    parse_prompt,
)
from bot.quota import Balance, format_credits
from bot.speed import SpeedMode
from bot.ui.errors import report_error, send_error
from bot.ui.pagination import fit_lines
from bot.ui.text import NO_MENTIONS, escape_prompt

log = logging.getLogger(__name__)

ACCOUNT_COLOUR = discord.Colour.teal()
NOT_YOURS = "These settings belong to the person who opened them; use /settings for your own."
DEFAULT = "default"
"""Select-option value meaning: no personal default, use the server's (or the built-in) one."""

STYLIZE_PRESETS: tuple[tuple[str, int], ...] = (
    ("Stylize low", 50),
    ("Stylize med", 100),
    ("Stylize high", 250),
    ("Stylize very high", 750),
)
SPEED_NOTES: dict[SpeedMode, str] = {
    SpeedMode.TURBO: "Turbo mode: jobs start first and cost twice as much (V5 and later only).",
    SpeedMode.FAST: "Fast mode: jobs use your fast credits.",
    SpeedMode.RELAX: "Relax mode: jobs cost no credits and run when fast and turbo jobs allow.",
}


@dataclass(frozen=True)
class SettingsChoice:
    """What a member picked in /settings; written as their default parameter text."""

    version: str | None = None
    """A version (``"7"``, ``"6.1"``) or ``"niji 6"``; None: the server's default."""
    stylize: int | None = None
    quality: float | None = None
    raw: bool = False

    def to_text(self) -> str:
        """The default parameter text these choices stand for (``--v 7 --s 250 --raw``)."""
        parts: list[str] = []
        if self.version is not None:
            parts.append(
                f"--{self.version}" if self.version.startswith("niji") else f"--v {self.version}"
            )
        if self.stylize is not None:
            parts.append(f"--s {self.stylize}")
        if self.quality is not None:
            parts.append(f"--q {_number(self.quality)}")
        if self.raw:
            parts.append("--raw")
        return " ".join(parts)


def _number(value: float) -> str:
    text = f"{value:g}"
    return text[1:] if text.startswith("0.") else text


SaveSettings = Callable[
    [discord.Interaction[Any], SettingsChoice, SpeedMode],
    Awaitable[tuple[SettingsChoice, SpeedMode]],
]
"""Validates and stores the member's choice; returns what is now stored (raises when refused)."""


class SettingsView(discord.ui.View):
    """Select menus and a Raw toggle over one member's defaults; re-rendered after every save."""

    def __init__(
        self,
        *,
        owner_id: int,
        choice: SettingsChoice,
        speed: SpeedMode,
        versions: Sequence[str],
        qualities: Sequence[float],
        save: SaveSettings,
        timeout: float = 600.0,
    ) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.choice = choice
        self.speed = speed
        self._versions = tuple(versions)
        self._qualities = tuple(qualities)
        self._save = save
        self._build()

    def embed(self) -> discord.Embed:
        """The message body: the member's current defaults in words."""
        return settings_embed(self.choice, self.speed)

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        """Only the member who opened /settings may change them."""
        if interaction.user.id == self.owner_id:
            return True
        await send_error(interaction, NOT_YOURS)
        return False

    async def on_error(
        self,
        interaction: discord.Interaction[Any],
        error: Exception,
        item: discord.ui.Item[Any],
        /,
    ) -> None:
        """A refused choice is explained; anything else is logged and apologised for."""
        await report_error(interaction, error)

    async def apply(
        self,
        interaction: discord.Interaction[Any],
        choice: SettingsChoice,
        speed: SpeedMode,
    ) -> None:
        """Save a new choice and show the message again with it selected."""
        self.choice, self.speed = await self._save(interaction, choice, speed)
        self._build()
        await interaction.response.edit_message(
            embed=self.embed(), view=self, allowed_mentions=NO_MENTIONS
        )

    def _build(self) -> None:
        self.clear_items()
        self.add_item(_VersionSelect(self, self._versions))
        self.add_item(_StylizeSelect(self))
        self.add_item(_QualitySelect(self, self._qualities))
        self.add_item(_SpeedSelect(self))
        self.add_item(_RawButton(self))
        self.add_item(_ResetButton(self))


def _option(label: str, value: str, selected: bool) -> discord.SelectOption:
    return discord.SelectOption(label=label, value=value, default=selected)


class _VersionSelect(discord.ui.Select[SettingsView]):
    def __init__(self, owner: SettingsView, versions: Sequence[str]) -> None:
        current = owner.choice.version
        options = [_option("Server default version", DEFAULT, current is None)]
        options += [
            _option(version_label(value), value, value == current) for value in versions[:24]
        ]
        super().__init__(custom_id="settings:version", options=options, row=0)
        self.owner = owner

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        value = self.values[0]
        version = None if value == DEFAULT else value
        await self.owner.apply(
            interaction, replace(self.owner.choice, version=version), self.owner.speed
        )


class _StylizeSelect(discord.ui.Select[SettingsView]):
    def __init__(self, owner: SettingsView) -> None:
        current = owner.choice.stylize
        options = [_option("Default stylize", DEFAULT, current is None)]
        options += [
            _option(f"{label} (--s {value})", str(value), value == current)
            for label, value in STYLIZE_PRESETS
        ]
        if current is not None and current not in dict(STYLIZE_PRESETS).values():
            options.append(_option(f"Stylize {current} (--s {current})", str(current), True))
        super().__init__(custom_id="settings:stylize", options=options, row=1)
        self.owner = owner

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        value = self.values[0]
        stylize = None if value == DEFAULT else int(value)
        await self.owner.apply(
            interaction, replace(self.owner.choice, stylize=stylize), self.owner.speed
        )


class _QualitySelect(discord.ui.Select[SettingsView]):
    def __init__(self, owner: SettingsView, qualities: Sequence[float]) -> None:
        current = owner.choice.quality
        options = [_option("Default quality", DEFAULT, current is None)]
        options += [
            _option(
                f"Quality {_number(value)} (--q {_number(value)})", _number(value), value == current
            )
            for value in qualities
        ]
        super().__init__(custom_id="settings:quality", options=options, row=2)
        self.owner = owner

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        value = self.values[0]
        quality = None if value == DEFAULT else float(value)
        await self.owner.apply(
            interaction, replace(self.owner.choice, quality=quality), self.owner.speed
        )


class _SpeedSelect(discord.ui.Select[SettingsView]):
    def __init__(self, owner: SettingsView) -> None:
        options = [
            _option(f"{mode.value.title()} mode", mode.value, mode == owner.speed)
            for mode in (SpeedMode.TURBO, SpeedMode.FAST, SpeedMode.RELAX)
        ]
        super().__init__(custom_id="settings:speed", options=options, row=3)
        self.owner = owner

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await self.owner.apply(interaction, self.owner.choice, SpeedMode(self.values[0]))


class _RawButton(discord.ui.Button[SettingsView]):
    def __init__(self, owner: SettingsView) -> None:
        on = owner.choice.raw
        super().__init__(
            custom_id="settings:raw",
            label="Raw mode: on" if on else "Raw mode: off",
            style=discord.ButtonStyle.success if on else discord.ButtonStyle.secondary,
            row=4,
        )
        self.owner = owner

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        choice = self.owner.choice
        await self.owner.apply(interaction, replace(choice, raw=not choice.raw), self.owner.speed)


class _ResetButton(discord.ui.Button[SettingsView]):
    def __init__(self, owner: SettingsView) -> None:
        super().__init__(
            custom_id="settings:reset",
            label="Reset settings",
            style=discord.ButtonStyle.danger,
            row=4,
        )
        self.owner = owner

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await self.owner.apply(interaction, SettingsChoice(), self.owner.speed)


def version_label(value: str) -> str:
    """``"niji 6"`` -> ``Niji version 6``; ``"6.1"`` -> ``Midjourney version 6.1``."""
    if value.startswith("niji"):
        return f"Niji version {value.removeprefix('niji').strip()}"
    return f"Midjourney version {value}"


def settings_embed(choice: SettingsChoice, speed: SpeedMode) -> discord.Embed:
    """The /settings message body."""
    text = choice.to_text()
    embed = discord.Embed(
        title="Your settings",
        description=(
            "Pick your defaults below; they are added to every /imagine "
            "(parameters you write in a prompt win)."
        ),
        colour=ACCOUNT_COLOUR,
    )
    embed.add_field(name="Default parameters", value=f"`{text}`" if text else "none", inline=False)
    embed.add_field(name="Speed mode", value=SPEED_NOTES[speed], inline=False)
    return embed


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


def cancelled_message(job: Job, *, unit: str) -> str:
    """What /cancel answers once a job is cancelled."""
    refund = f" Its {unit} were refunded ({format_credits(job.cost)})." if job.cost else ""
    return f"Job `#{job.id}` is cancelled.{refund}"


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


# Stored prompt texts (defaults, suffixes, custom options) are checked by the one prompt
# parser before they are saved, attached to a harmless prompt since parameters need one.
CHECK_TEXT = "settings check"
OPTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def check_defaults(text: str, *, default_version: str | None = None) -> Prompt:
    """Parse default parameter text as every prompt will see it; raises ``PromptError``."""
    version = default_version or DEFAULT_VERSION
    return parse_prompt(CHECK_TEXT, default_version=version, defaults=[text])


def check_version(version: str) -> str:
    """A default version as the parser spells it ("5.0" -> "5"); raises ``PromptError``."""
    return parse_prompt(CHECK_TEXT, defaults=[f"--v {version}"]).params.version or version


def check_suffix(text: str, *, options: Mapping[str, str]) -> Prompt:
    """Parse a /prefer suffix as it will be appended to prompts; raises ``PromptError``."""
    return parse_prompt(CHECK_TEXT, suffix=text, options=dict(options) or None)


def check_option(name: str, value: str, *, options: Mapping[str, str]) -> str:
    """Validate a custom option's name and value; returns the name as stored (lower case)."""
    cleaned = name.strip().lower().removeprefix("--")
    if not OPTION_NAME.fullmatch(cleaned):
        raise UserFacingError(
            "An option name is one word of letters, digits or underscores (at most 32), "
            "starting with a letter, such as `mystyle`."
        )
    if is_reserved_name(cleaned):
        raise UserFacingError(
            f"--{cleaned} is a built-in parameter; pick another name for your option."
        )
    parse_prompt(f"{CHECK_TEXT} --{cleaned}", options={**options, cleaned: value})
    return cleaned


def model_versions(*, niji: bool = True) -> list[str]:
    """The versions /settings offers, newest first, then the niji versions, newest first."""
    versions = list(reversed(VERSIONS))
    if niji:
        versions += [f"niji {n}" for n in reversed(NIJI_VERSIONS)]
    return versions


def quality_values() -> list[float]:
    """The quality values of the parameter table."""
    quality = next(spec for spec in PARAMETERS if spec.name == "quality")
    return [float(value) for value in quality.choices]


def choice_from_text(text: str) -> SettingsChoice:
    """Read stored default parameter text back into menu choices (empty if it no longer parses)."""
    if not text.strip():
        return SettingsChoice()
    try:
        prompt = check_defaults(text)
    except PromptError:
        log.warning("stored default parameters no longer parse; showing none")
        return SettingsChoice()
    params, written = prompt.params, prompt.explicit
    version: str | None = None
    if "niji" in written and params.niji is not None:
        version = f"niji {params.niji}"
    elif "version" in written:
        version = params.version
    return SettingsChoice(
        version=version,
        stylize=params.stylize if "stylize" in written else None,
        quality=params.quality if "quality" in written else None,
        raw=bool(params.raw),
    )
