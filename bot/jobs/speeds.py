"""A job's speed and seed: who chose them, and whether the prompt can run at that speed.

The speed comes from a speed flag written in the prompt itself, else from the member's mode
(/fast, /relax, /turbo); a speed flag or ``--seed`` that only came from the server's or the
member's default parameters chooses neither. The prompt package's own rules decide whether
the prompt can run at the chosen speed (turbo needs V5 or later, ``--oref`` neither relax nor
turbo, ...), so those rules live in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.errors import NotAllowed
from bot.model import SpeedMode
from bot.prompt import DEFAULT_VERSION, Prompt, PromptError, parse_prompt, with_params
from bot.prompt.issues import PROMPT_TOO_LONG

RELAX_DENIED = "Relax mode is turned off in this server; use /fast or /turbo."
_SPEED_NAMES = frozenset(mode.value for mode in SpeedMode)


@dataclass(frozen=True, slots=True)
class Preset:
    """The speed and seed that the default parameter layers set, if any."""

    speed: SpeedMode | None = None
    seed: int | None = None


def preset_of(layers: Sequence[str], default_version: str | None) -> Preset:
    """What ``layers`` (default parameter texts, lowest first) set for speed and seed."""
    texts = [text for text in layers if text.strip()]
    if not texts:
        return Preset()
    try:
        parsed = parse_prompt(
            "x", defaults=texts, default_version=default_version or DEFAULT_VERSION
        )
    except PromptError:
        # Defaults that do not parse were refused with the prompt already; nothing to undo.
        return Preset()
    return Preset(parsed.params.speed, parsed.params.seed if "seed" in parsed.explicit else None)


def written_speed(prompt: Prompt, preset: Preset) -> SpeedMode | None:
    """The speed flag the member wrote, not one the defaults put there."""
    speed = prompt.params.speed
    return None if speed is None or speed is preset.speed else speed


def seed_written(prompt: Prompt, preset: Preset) -> bool:
    """Whether the member wrote ``--seed`` (a seed from the defaults does not count)."""
    seed = prompt.params.seed
    return "seed" in prompt.explicit and seed is not None and seed != preset.seed


def at_speed(prompt: Prompt, speed: SpeedMode | None, **changes: Any) -> Prompt:
    """The prompt with ``changes``, checked at ``speed`` and written without a speed flag.

    ``speed`` None keeps the prompt's own written flag. Raises ``NotAllowed`` naming the
    mode when the prompt cannot run at it.
    """
    if speed is not None:
        changes["speed"] = speed
    if not changes:
        return prompt
    try:
        changed = with_params(prompt, **changes)
    except PromptError as exc:
        if speed is None or any(issue.code == PROMPT_TOO_LONG for issue in exc.issues):
            # Too long is about the text, not the speed: it keeps its own message.
            raise
        problems = " ".join(issue.message for issue in exc.issues)
        raise NotAllowed(
            f"Your speed mode is {speed}, which this prompt cannot use: {problems} "
            "Switch with /fast, /relax or /turbo, or write the speed in the prompt."
        ) from exc
    if speed is None:
        return changed
    # The mode is the job's speed, not part of its text: the text keeps no flag for it.
    return changed.model_copy(
        update={
            "params": changed.params.model_copy(update={"speed": None}),
            "explicit": changed.explicit - _SPEED_NAMES,
        }
    )


def relaxed_text(prompt: Prompt, *, flagged: bool) -> str | None:
    """The job's text when it falls back to relax; None when the prompt cannot run in relax."""
    try:
        relaxed = with_params(prompt, speed=SpeedMode.RELAX)
    except PromptError:
        return None
    return relaxed.to_prompt() if flagged else prompt.to_prompt()
