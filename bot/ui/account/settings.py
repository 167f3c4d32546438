"""/settings: select menus and a Raw toggle over a member's default parameters and mode."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import discord

from bot.account.checks import check_defaults
from bot.model import SpeedMode
from bot.prompt import NIJI_VERSIONS, PARAMETERS, VERSIONS, PromptError
from bot.ui.account.messages import ACCOUNT_COLOUR, SPEED_NOTES
from bot.ui.pagination import OwnedView
from bot.ui.text import NO_MENTIONS

log = logging.getLogger(__name__)

DEFAULT = "default"
"""Select-option value meaning: no personal default, use the server's (or the built-in) one."""

STYLIZE_PRESETS: tuple[tuple[str, int], ...] = (
    ("Stylize low", 50),
    ("Stylize med", 100),
    ("Stylize high", 250),
    ("Stylize very high", 750),
)


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


class SettingsView(OwnedView):
    """Select menus and a Raw toggle over one member's defaults; re-rendered after every save."""

    not_yours = "These settings belong to the person who opened them; use /settings for your own."

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
        super().__init__(owner_id=owner_id, timeout=timeout)
        self.choice = choice
        self.speed = speed
        self._versions = tuple(versions)
        self._qualities = tuple(qualities)
        self._save = save
        self._build()

    def embed(self) -> discord.Embed:
        """The message body: the member's current defaults in words."""
        return settings_embed(self.choice, self.speed)

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
