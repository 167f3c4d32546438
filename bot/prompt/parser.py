"""``parse_prompt``: text (plus defaults, suffix and custom options) to a valid ``Prompt``."""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping, Sequence
from typing import Any

from bot.model import SpeedMode
from bot.prompt import issues as codes
from bot.prompt.issues import IssueLog, PromptError, PromptIssue
from bot.prompt.layers import Assignment, Layer, merge, read_layer, refuse_braces
from bot.prompt.numbers import format_number
from bot.prompt.prompt import Prompt
from bot.prompt.rules import check_rules
from bot.prompt.scanner import Scan, scan
from bot.prompt.table import (
    BY_NAME,
    IMAGE_ONLY_REFUSED,
    SPEED_FLAGS,
    WEAK_MULTI_PROMPTS,
    WHOLE_WEIGHTS_ONLY,
    is_reserved_name,
)
from bot.prompt.values import echo, is_valid_url, not_fetched, url_refusal, value_urls
from bot.prompt.versions import DEFAULT_VERSION, MODELS, model_key
from bot.prompt.weights import split_segments

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


class _EveryHost:
    def __contains__(self, host: object) -> bool:
        return True


EVERY_HOST: Container[str] = _EveryHost()
"""``allowed_hosts`` for texts the bot wrote itself (canonical prompts parsed again): their
image hosts were judged, under the operator's allowed hosts, when the member wrote them."""


def parse_prompt(
    text: str,
    *,
    default_version: str = DEFAULT_VERSION,
    options: Mapping[str, str] | None = None,
    defaults: Sequence[str] | Mapping[str, str] = (),
    suffix: str = "",
    max_length: int = MAX_LENGTH,
    allowed_hosts: Container[str] = (),
) -> Prompt:
    """Parse and validate a prompt, or raise ``PromptError`` with every problem found.

    ``defaults`` are parameter-only texts, lowest precedence first (a mapping names each
    layer for messages: ``{"the server defaults": "--v 6"}``); ``suffix`` is the user's
    /prefer suffix, whose text is appended and whose parameters sit above ``defaults``.
    ``max_length`` is the member's limit; texts the bot rebuilt use ``CANONICAL_MAX_LENGTH``.
    ``allowed_hosts`` are image hosts accepted although internal-looking (the operator's
    ``outbound.allowed_hosts``, so the prompt and the fetcher agree).
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
    _refuse_hosts(main, chosen, allowed_hosts, log)
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
    return [url for url, _ in main.image_urls]


def _refuse_hosts(
    main: Scan, chosen: dict[str, Assignment], allowed_hosts: Container[str], log: IssueLog
) -> None:
    """Every image URL's host, in the prompt and in parameters, judged in this one place."""
    for url, span in main.image_urls:
        if is_valid_url(url) and (reason := url_refusal(url, allowed_hosts)) is not None:
            message = (
                f"Image prompts must be public image URLs; {echo(url)} is not fetched: {reason}."
            )
            log.error(codes.INVALID_URL, message, span)
    for name, assignment in chosen.items():
        for url in value_urls(assignment.spec, assignment.value):
            if (reason := url_refusal(url, allowed_hosts)) is not None:
                message = not_fetched(assignment.written, url, reason)
                log.error(codes.INVALID_URL, message, assignment.span, name, assignment.origin)


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
