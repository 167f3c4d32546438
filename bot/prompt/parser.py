"""``parse_prompt``: text (plus defaults, suffix and custom options) to a valid ``Prompt``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, get_origin

from pydantic import BaseModel, ValidationError

from bot.prompt import issues as codes
from bot.prompt.issues import IssueLog, PromptError, PromptIssue
from bot.prompt.layers import Assignment, Layer, merge, read_layer, refuse_braces
from bot.prompt.numbers import format_number
from bot.prompt.prompt import Params, Prompt
from bot.prompt.rules import check_rules
from bot.prompt.scanner import Scan, scan
from bot.prompt.table import (
    BY_CANONICAL,
    BY_NAME,
    IMAGE_ONLY_REFUSED,
    SPEED_FLAGS,
    WEAK_MULTI_PROMPTS,
    WHOLE_WEIGHTS_ONLY,
    is_reserved_name,
)
from bot.prompt.values import echo, is_valid_url, url_refusal
from bot.prompt.versions import DEFAULT_VERSION, MODELS, model_key
from bot.prompt.weights import split_segments
from bot.speed import SpeedMode

MAX_LENGTH = 6000
CANONICAL_MAX_LENGTH = MAX_LENGTH + 1000
"""The limit on texts the bot itself rebuilds: the member's 6,000 characters plus the room
the parameters it adds (seed, speed, defaults) take, so that a prompt accepted at the
member's limit is never refused later for what the bot wrote into it."""
# Control characters other than tab and newline (and a carriage return, which Discord's
# clients send with newlines): invisible in Discord, and a NUL cuts strings at some providers.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SUFFIX = "your /prefer suffix"
_EMPTY = scan("")
_NO_OPTIONS: dict[str, str] = {}
_SEED_LOW, _SEED_HIGH = BY_CANONICAL["seed"].bounds
_SEED_NAMES = frozenset({"seed"})


def parse_prompt(
    text: str,
    *,
    default_version: str = DEFAULT_VERSION,
    options: Mapping[str, str] | None = None,
    defaults: Sequence[str] | Mapping[str, str] = (),
    suffix: str = "",
    max_length: int = MAX_LENGTH,
) -> Prompt:
    """Parse and validate a prompt, or raise ``PromptError`` with every problem found.

    ``defaults`` are parameter-only texts, lowest precedence first (a mapping names each
    layer for messages: ``{"the server defaults": "--v 6"}``); ``suffix`` is the user's
    /prefer suffix, whose text is appended and whose parameters sit above ``defaults``.
    ``max_length`` is the member's limit; texts the bot rebuilt use ``CANONICAL_MAX_LENGTH``.
    """
    log = IssueLog()
    if len(text.strip()) + len(suffix.strip()) > max_length:
        message = f"The prompt is longer than {max_length} characters: shorten it."
        raise PromptError([PromptIssue(code=codes.PROMPT_TOO_LONG, message=message)])
    _refuse_controls(text, suffix)
    main = scan(text)
    suffix_scan = scan(suffix) if suffix else _EMPTY
    if suffix:
        refuse_braces(suffix, _SUFFIX, log)
    layers = (
        _default_layers(default_version, defaults, log)
        if defaults or default_version != DEFAULT_VERSION
        else []
    )
    layers += [Layer(suffix_scan.parameters, _SUFFIX), Layer(main.parameters, None)]
    custom = (
        {
            name.lower().removeprefix("--"): value
            for name, value in options.items()
            if not is_reserved_name(name)
        }
        if options
        else _NO_OPTIONS
    )
    chosen = merge(
        [
            read_layer(layer, custom, log, rank)
            for rank, layer in enumerate(layers)
            if layer.parameters
        ]
    )
    model = model_key(_value(chosen, "version"), _value(chosen, "niji"))
    image_urls = _image_urls(main, log)
    segments = _segments(main, suffix[: _body_end(suffix_scan, suffix)], model, log)
    _check_content(image_urls, segments, chosen, log)
    check_rules(chosen, model, log)
    _notes(image_urls, segments, chosen, model, log)
    log.raise_if_errors()
    # One validation of plain data builds the nested models in pydantic-core, faster than
    # constructing Params and each Segment in Python first.
    return Prompt.model_validate(
        {
            "image_urls": image_urls,
            "segments": [{"text": t, "weight": w} for t, w in segments],
            "params": _params(chosen),
            "explicit": frozenset(chosen),
            "warnings": log.warnings,
        }
    )


def _refuse_controls(text: str, suffix: str) -> None:
    for where, written in ((None, text), (_SUFFIX, suffix)):
        if (found := _CONTROL.search(written)) is not None:
            name = f"U+{ord(found[0]):04X}"
            place = f" in {where}" if where else ""
            message = (
                f"The prompt{place} contains an invisible control character ({name}): "
                "remove it and send the prompt again."
            )
            span = None if where else found.span()
            raise PromptError(
                [PromptIssue(code=codes.CONTROL_CHARACTER, message=message, span=span)]
            )


def written_parameters(text: str) -> frozenset[str]:
    """The table names of the parameters written in ``text`` (aliases resolved, unknowns out)."""
    return frozenset(
        spec.name for raw in scan(text).parameters if (spec := BY_NAME.get(raw.name)) is not None
    )


def _value(chosen: dict[str, Assignment], name: str) -> Any:
    assignment = chosen.get(name)
    return None if assignment is None else assignment.value


def _body_end(scanned: Scan, text: str) -> int:
    return scanned.parameters[0].span[0] if scanned.parameters else len(text)


def _default_layers(
    default_version: str, defaults: Sequence[str] | Mapping[str, str], log: IssueLog
) -> list[Layer]:
    named: Iterable[tuple[str, str]]
    if isinstance(defaults, Mapping):
        named = defaults.items()
    else:
        named = ((f"default parameters #{i}", t) for i, t in enumerate(defaults, start=1))
    layers: list[Layer] = []
    if default_version != DEFAULT_VERSION:
        # A default version other than the built-in one must reach the provider: it is a layer.
        version_text = default_version.strip().lower()
        flag = "--" + version_text if version_text.startswith("niji") else f"--v {version_text}"
        layers.append(Layer(scan(flag).parameters, "the default version"))
    for label, layer_text in named:
        refuse_braces(layer_text, label, log)
        scanned = scan(layer_text)
        if scanned.text.strip() or scanned.image_urls:
            message = "defaults may only hold parameters such as --v 6 --s 250."
            log.error(codes.INVALID_VALUE, message, origin=label)
        layers.append(Layer(scanned.parameters, label))
    return layers


def _image_urls(main: Scan, log: IssueLog) -> list[str]:
    for url, span in main.image_urls:
        if not is_valid_url(url):
            message = "Image prompts must be http:// or https:// URLs with a host name."
            log.error(codes.INVALID_URL, message, span)
        elif (reason := url_refusal(url)) is not None:
            message = (
                f"Image prompts must be public image URLs; {echo(url)} is not fetched: {reason}."
            )
            log.error(codes.INVALID_URL, message, span)
    return [url for url, _ in main.image_urls]


def _segments(main: Scan, suffix_text: str, model: str, log: IssueLog) -> list[tuple[str, float]]:
    own = main.text.rstrip()
    combined = f"{own} {suffix_text.strip()}" if suffix_text.strip() else own
    result = split_segments(combined)
    for span in result.malformed:
        message = "Weights are numbers written right after ::, such as ::2, ::0.5 or ::-.5."
        log.error(codes.WEIGHT_FORMAT, message, *_placed(span, len(own), main.text_span[0]))
    if model in WHOLE_WEIGHTS_ONLY:
        for weight in result.weights:
            if weight.value != int(weight.value):
                message = (
                    f"{MODELS[model].label} takes whole-number weights only: "
                    f"use ::{round(weight.value)} instead of ::{weight.text}."
                )
                place = _placed(weight.span, len(own), main.text_span[0])
                log.error(codes.WEIGHT_FORMAT, message, *place)
    if result.segments:
        total = sum(weight for _, weight in result.segments)
        if total <= 0:
            message = (
                f"The weights add up to {format_number(total)}; they must add up to more than 0 "
                "(--no items do not count)."
            )
            log.error(codes.WEIGHT_SUM, message)
    return result.segments


def _placed(
    span: tuple[int, int], own_length: int, offset: int
) -> tuple[tuple[int, int] | None, None, str | None]:
    """Span, parameter and origin of a weight issue: in the prompt, or in the suffix's text."""
    if span[0] >= own_length:
        return None, None, _SUFFIX
    return (span[0] + offset, span[1] + offset), None, None


def _check_content(
    image_urls: list[str],
    segments: list[tuple[str, float]],
    chosen: dict[str, Assignment],
    log: IssueLog,
) -> None:
    if not segments and len(image_urls) < 2:
        message = (
            "Write what to imagine (one image URL needs some text with it)."
            if image_urls
            else "Write what to imagine: the prompt has no text."
        )
        log.error(codes.EMPTY_PROMPT, message)
        return
    if segments:
        return
    for name in IMAGE_ONLY_REFUSED:
        assignment = chosen.get(name)
        if assignment is None:
            continue
        message = f"--{assignment.spec.flag} cannot be used with a prompt made only of images."
        if assignment.origin is None:
            log.error(codes.INCOMPATIBLE, message, assignment.span, name)
        else:
            # A default the user did not write for this prompt should not block it.
            del chosen[name]
            log.warn(codes.DEFAULT_IGNORED, message + " Ignored.", None, name, assignment.origin)


def _notes(
    image_urls: list[str],
    segments: list[tuple[str, float]],
    chosen: dict[str, Assignment],
    model: str,
    log: IssueLog,
) -> None:
    multi = len(segments) > 1 or any(weight != 1 for _, weight in segments)
    if multi and model in WEAK_MULTI_PROMPTS:
        message = "Multi-prompts and weights have little effect on V7."
        log.warn(codes.MULTI_PROMPT_V7, message)
    image_weight = chosen.get("iw")
    if image_weight is not None and not image_urls:
        message = "--iw only affects image prompts, and this prompt has none."
        log.warn(codes.IMAGE_WEIGHT_UNUSED, message, image_weight.span, "iw", image_weight.origin)


def _params(chosen: dict[str, Assignment]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, assignment in chosen.items():
        if name in SPEED_FLAGS:
            values["speed"] = SpeedMode(name)
        elif name == "niji":
            values["niji"], values["version"] = assignment.value, None
        else:
            values[assignment.spec.target] = assignment.value
    return values


def rebuild(prompt: Prompt, changes: Mapping[str, Any], removed: Iterable[str]) -> Prompt:
    """The prompt with parameters changed (and marked written) or removed, validated again."""
    removed = tuple(removed)
    # Types are part of the key: True == 1 == 1.0, but they need not validate alike.
    key = (prompt.to_prompt(), tuple((n, type(v), v) for n, v in changes.items()), removed)
    try:
        text = _rebuilt_texts.get(key)
    except TypeError:  # an unhashable value (a list): built without the memo
        return _parse_canonical(_rebuilt_text(prompt, changes, removed))
    if text is None:
        text = _rebuilt_text(prompt, changes, removed)
        if len(_rebuilt_texts) >= _REBUILT_TEXTS_MAX:
            _rebuilt_texts.clear()
        _rebuilt_texts[key] = text
    return _parse_canonical(text)


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
    return parse_prompt(text, max_length=CANONICAL_MAX_LENGTH)


def _parse_canonical(text: str) -> Prompt:
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
