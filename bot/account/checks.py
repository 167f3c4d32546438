"""Checks of the prompt texts a member or moderator stores, by the one prompt parser.

Stored texts (default parameters, the suffix, custom options) are parsed the way every
/imagine will see them: attached to a harmless prompt (parameters need one) and layered over
the texts below them, so a suffix that only fails with the guild's default version is refused
when it is saved rather than on every later prompt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bot.errors import UserFacingError
from bot.model import SpeedMode
from bot.prompt import (
    DEFAULT_VERSION,
    Prompt,
    is_reserved_name,
    parse_prompt,
    written_parameters,
)

CHECK_TEXT = "settings check"
OPTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_SPEED_FLAGS = frozenset(mode.value for mode in SpeedMode)


def _layers(below: Sequence[str]) -> list[str]:
    return [text for text in below if text.strip()]


def check_defaults(
    text: str, *, below: Sequence[str] = (), default_version: str | None = None
) -> Prompt:
    """Parse default parameter text over the layers ``below`` it; raises ``PromptError``."""
    return parse_prompt(
        CHECK_TEXT,
        default_version=default_version or DEFAULT_VERSION,
        defaults=[*_layers(below), text],
    )


def check_saved_defaults(
    text: str, *, below: Sequence[str] = (), default_version: str | None = None
) -> Prompt:
    """``check_defaults`` for a text saved as defaults: no speed flag and no fixed seed in it."""
    written = written_parameters(text)
    if written & _SPEED_FLAGS:
        # A default flag would override every member's own mode (the spec has it the other way).
        raise UserFacingError(
            "Default parameters cannot set the speed: use /fast, /relax or /turbo instead."
        )
    _refuse_fixed_seed(written, "Default parameters")
    return check_defaults(text, below=below, default_version=default_version)


def _refuse_fixed_seed(written: frozenset[str], what: str) -> None:
    if "seed" in written:
        raise UserFacingError(
            f"{what} cannot hold --seed: a fixed seed for every job would make every "
            "reroll identical. Write --seed in a prompt when you want one."
        )


def check_version(version: str) -> str:
    """A default version as the parser spells it ("5.0" -> "5"); raises ``PromptError``."""
    parsed = parse_prompt(CHECK_TEXT, defaults=[f"--v {version}"]).params.version
    if parsed is None:
        raise UserFacingError("Give a Midjourney version such as 7 or 6.1.")
    return parsed


def check_suffix(
    text: str,
    *,
    options: Mapping[str, str],
    below: Sequence[str] = (),
    default_version: str | None = None,
) -> Prompt:
    """Parse a /prefer suffix as it will be appended to prompts; raises ``PromptError``."""
    _refuse_fixed_seed(written_parameters(text), "A suffix")
    return parse_prompt(
        CHECK_TEXT,
        default_version=default_version or DEFAULT_VERSION,
        defaults=_layers(below),
        suffix=text,
        options=dict(options) or None,
    )


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
