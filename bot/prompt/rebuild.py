"""Rebuilding a validated prompt with parameters changed, set or removed (jobs, buttons).

A rebuild writes the changed prompt as canonical text and parses that again, so a rebuilt
prompt obeys every rule a written one does; the texts and their parses are memoised because
jobs make the same few rebuilds over and over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, get_origin

from pydantic import BaseModel, ValidationError

from bot.prompt import issues as codes
from bot.prompt.issues import PromptError, PromptIssue
from bot.prompt.parser import CANONICAL_MAX_LENGTH, EVERY_HOST, parse_prompt
from bot.prompt.parts import Params
from bot.prompt.prompt import Prompt
from bot.prompt.table import BY_CANONICAL, SPEED_FLAGS

_SEED_LOW, _SEED_HIGH = BY_CANONICAL["seed"].bounds
_SEED_NAMES = frozenset({"seed"})


def with_params(prompt: Prompt, **changes: Any) -> Prompt:
    """A new, validated prompt with these parameters changed and marked as written."""
    if "seed" not in changes or not usable_seed(changes["seed"]):
        # The full path reports every problem at once, a bad seed's among them.
        return rebuild(prompt, changes, ())
    # A valid seed is set on its own (it changes no rule), so the rest is validated once
    # per prompt and speed, not once per drawn seed.
    seed = changes.pop("seed")
    return with_seed(rebuild(prompt, changes, ()) if changes else prompt, seed)


def without_params(prompt: Prompt, *names: str) -> Prompt:
    """A new, validated prompt without these parameters (back to their defaults)."""
    return rebuild(prompt, {}, names)


def rebuild(prompt: Prompt, changes: Mapping[str, Any], removed: Iterable[str]) -> Prompt:
    """The prompt with parameters changed (and marked written) or removed, validated again."""
    removed = tuple(removed)
    # Types are part of the key: True == 1 == 1.0, but they need not validate alike.
    key = (prompt.to_prompt(), tuple((n, type(v), v) for n, v in changes.items()), removed)
    try:
        text = _rebuilt_texts.get(key)
    except TypeError:  # an unhashable value (a list): built without the memo
        return parse_canonical(_rebuilt_text(prompt, changes, removed))
    if text is None:
        text = _rebuilt_text(prompt, changes, removed)
        if len(_rebuilt_texts) >= _REBUILT_TEXTS_MAX:
            _rebuilt_texts.clear()
        _rebuilt_texts[key] = text
    return parse_canonical(text)


# The canonical text a rebuild gives depends only on the written prompt (its own canonical
# text) and the changes: jobs make the same few (prompt, speed) rebuilds over and over.
_rebuilt_texts: dict[tuple[str, tuple[tuple[str, type, Any], ...], tuple[str, ...]], str] = {}
_REBUILT_TEXTS_MAX = 512


def _rebuilt_text(prompt: Prompt, changes: Mapping[str, Any], removed: tuple[str, ...]) -> str:
    explicit = set(prompt.explicit)
    values = prompt.params.model_dump()
    for name in [*removed, *changes]:
        if name not in values:
            message = f"--{name} is not a parameter field."
            raise PromptError([PromptIssue(code=codes.UNKNOWN_PARAMETER, message=message)])
    for name in removed:
        explicit -= _explicit_names(name)
        values[name] = Params.model_fields[name].get_default(call_default_factory=True)
    changed = []
    for name, value in changes.items():
        explicit -= _explicit_names(name)
        if name == "style" and value == "raw":
            name, value = "raw", True
        if name in ("version", "niji") and value is not None:
            explicit -= {"version", "niji"}
        values[name] = value
        changed.append(name)
    try:
        params = Params.model_validate(values)
    except ValidationError as exc:
        # A value of the wrong kind (2.5 for --stylize) never reaches the text's own checks.
        raise PromptError(
            [
                PromptIssue(
                    code=codes.INVALID_VALUE,
                    message=f"--{error['loc'][0]} cannot be {error['input']!r}.",
                    parameter=str(error["loc"][0]),
                )
                for error in exc.errors()
            ]
        ) from None
    for name in changed:
        # None, False and [] mean "not set"; 0 is a value (a drawn seed can be 0). Read as
        # validated: raw=0 is raw=False, not a flag turned on.
        value = getattr(params, name)
        if not (value is None or value is False or value == []):
            explicit.add(value.value if name == "speed" else name)
    return Prompt(
        image_urls=prompt.image_urls,
        segments=prompt.segments,
        params=params,
        explicit=frozenset(explicit),
    ).to_prompt()


# Jobs rebuild the same few prompts at the same speeds over and over; a canonical text always
# parses to the same prompt, so one parse serves them all.
@lru_cache(maxsize=512)
def _parse_canonical_shared(text: str) -> Prompt:
    return parse_prompt(text, max_length=CANONICAL_MAX_LENGTH, allowed_hosts=EVERY_HOST)


def parse_canonical(text: str) -> Prompt:
    """A prompt the bot wrote (a job's stored text): its longer limit, its hosts judged before.

    Raises ``PromptError`` only for a text that no parse of a member's prompt could give.
    """
    # A Prompt is frozen but its lists (segments, warnings, --no items) are not: every caller
    # gets lists of its own, so one job can never change another's prompt. Their items
    # (strings, frozen segments and issues) are immutable, so a deep copy is not needed.
    shared = _parse_canonical_shared(text)
    params = shared.params
    return shared.model_copy(
        update={
            **{name: list(getattr(shared, name)) for name in _PROMPT_LISTS},
            "params": params.model_copy(
                update={name: list(getattr(params, name)) for name in _PARAMS_LISTS}
            ),
        }
    )


def _list_fields(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(
        name for name, field in model.model_fields.items() if get_origin(field.annotation) is list
    )


_PROMPT_LISTS = _list_fields(Prompt)
_PARAMS_LISTS = _list_fields(Params)


def usable_seed(seed: Any) -> bool:
    """Whether ``seed`` is a whole number in the seed's range (so it touches no other rule)."""
    return type(seed) is int and _SEED_LOW <= seed <= _SEED_HIGH


def with_seed(prompt: Prompt, seed: Any) -> Prompt:
    """``rebuild(prompt, {"seed": seed}, ())`` without parsing again when the seed is valid.

    A seed in its range touches no rule and no warning, so the prompt keeps its other values
    and warnings (equality leaves spans out); only the length limit is checked again.
    Anything else takes the full path, which raises the usual ``PromptError``.
    """
    if usable_seed(seed):
        seeded = prompt.model_copy(
            update={
                "params": prompt.params.model_copy(update={"seed": seed}),
                "explicit": prompt.explicit | _SEED_NAMES,
            }
        )
        if len(seeded.to_prompt().strip()) <= CANONICAL_MAX_LENGTH:
            return seeded
    return rebuild(prompt, {"seed": seed}, ())


def _explicit_names(field: str) -> set[str]:
    return set(SPEED_FLAGS) if field == "speed" else {field} & set(BY_CANONICAL)
