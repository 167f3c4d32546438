"""Reading the parameters of each layer (defaults, suffix, prompt) and merging them.

A higher layer overrides a lower one; inside one layer a parameter written twice, or two
members of an exclusive group (``--v`` and ``--niji``; the speed flags), is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from bot.prompt import issues as codes
from bot.prompt.issues import IssueLog
from bot.prompt.names import did_you_mean, unsupported_reason
from bot.prompt.scanner import RawParameter, scan
from bot.prompt.table import BY_CANONICAL, BY_NAME, ParamSpec
from bot.prompt.values import read_value

_RAW = BY_CANONICAL["raw"]
_REPEAT = BY_CANONICAL["repeat"]
# An unescaped {...} pair: what expand_prompt would have turned into permutations.
_BRACES = re.compile(r"(?<!\\)\{.*?(?<!\\)\}", re.DOTALL)
# Beyond this many unknown names in one text, skip the (costly) spelling suggestions.
_MAX_SUGGESTIONS = 20


class Assignment(NamedTuple):
    """One parameter set by one layer: its value and where it was written."""

    spec: ParamSpec
    value: Any
    written: str
    span: tuple[int, int]
    origin: str | None
    rank: int


class Layer(NamedTuple):
    """The raw parameters of one layer and the label its messages use (None: the prompt)."""

    parameters: list[RawParameter]
    origin: str | None


def refuse_braces(text: str, origin: str, log: IssueLog) -> None:
    """Permutations are expanded from the typed prompt only: a layer's braces would be literal."""
    if _BRACES.search(text):
        message = (
            "{a, b} permutations only work in the prompt you type, not in saved settings: "
            "remove the braces."
        )
        log.error(codes.PROMPT_ONLY, message, origin=origin)


def _expand_option(
    raw: RawParameter, option_text: str, origin: str | None, log: IssueLog
) -> list[tuple[RawParameter, str | None]]:
    """The parameters of a custom option, placed where the option was written."""
    label = f"your option {raw.written}" if origin is None else f"{origin} (option {raw.written})"
    if raw.value:
        log.error(
            codes.UNEXPECTED_VALUE,
            f"the custom option {raw.written} takes no value: remove what follows it.",
            raw.span,
            raw.name,
            origin,
        )
    refuse_braces(option_text, label, log)
    inner = scan(option_text)
    if inner.text.strip() or inner.image_urls:
        log.error(
            codes.INVALID_VALUE, "a custom option may only hold parameters.", None, None, label
        )
    return [(RawParameter(p.name, p.value, raw.span), label) for p in inner.parameters]


def _resolve(
    layer: Layer, options: Mapping[str, str], log: IssueLog
) -> list[tuple[RawParameter, ParamSpec, str | None]]:
    """Each raw parameter with its table entry; unknown and rejected names are reported."""
    resolved: list[tuple[RawParameter, ParamSpec, str | None]] = []
    pending = [(raw, layer.origin) for raw in layer.parameters]
    unknown = 0
    expanded: set[str] = set()
    for raw, origin in pending:
        spec = BY_NAME.get(raw.name)
        if spec is _REPEAT and origin is not None:
            # expand_prompt runs before the layers apply: this one would reach the provider.
            message = "--repeat only works in the prompt you type, not in saved settings."
            log.error(codes.PROMPT_ONLY, message, raw.span, spec.name, origin)
            continue
        if spec is not None:
            resolved.append((raw, spec, origin))
            continue
        rejected = unsupported_reason(raw.name)
        if rejected is not None:
            message = f"{raw.written} is not supported here: {rejected[1]}."
            log.error(codes.UNSUPPORTED_PARAMETER, message, raw.span, rejected[0], origin)
        elif raw.name in options and origin == layer.origin:
            if raw.name in expanded:
                # Each option once: repeating one would only duplicate its parameters anyway.
                message = f"{raw.written} is written twice: keep one."
                log.error(codes.DUPLICATE_PARAMETER, message, raw.span, None, origin)
                continue
            expanded.add(raw.name)
            pending.extend(_expand_option(raw, options[raw.name], origin, log))
        else:
            unknown += 1
            suggestion = did_you_mean(raw.name) if unknown <= _MAX_SUGGESTIONS else None
            hint = f" Did you mean {suggestion}?" if suggestion else ""
            message = f"{raw.written} is not a parameter.{hint}"
            log.error(codes.UNKNOWN_PARAMETER, message, raw.span, None, origin)
    return resolved


def read_layer(
    layer: Layer, options: Mapping[str, str], log: IssueLog, rank: int = 0
) -> list[Assignment]:
    """The valid assignments of one layer (higher ``rank`` wins); clashes inside it are errors."""
    assignments: list[Assignment] = []
    by_name: dict[str, Assignment] = {}
    by_group: dict[str, Assignment] = {}
    for raw, spec, origin in _resolve(layer, options, log):
        ok, value = read_value(spec, raw, log, origin)
        if not ok:
            continue
        if spec.name == "style" and value == "raw":
            spec, value = _RAW, True  # --style raw is the same parameter as --raw
        assignment = Assignment(spec, value, raw.written, raw.span, origin, rank)
        earlier = by_name.get(spec.name)
        if earlier is not None:
            log.error(
                codes.DUPLICATE_PARAMETER,
                f"--{spec.name} is written twice ({earlier.written} and {raw.written}): keep one.",
                raw.span,
                spec.name,
                origin,
            )
            continue
        rival = by_group.get(spec.group) if spec.group else None
        if rival is not None:
            log.error(
                codes.INCOMPATIBLE, _group_clash(rival, assignment), raw.span, spec.name, origin
            )
            continue
        by_name[spec.name] = assignment
        if spec.group:
            by_group[spec.group] = assignment
        assignments.append(assignment)
    return assignments


def _group_clash(first: Assignment, second: Assignment) -> str:
    if first.spec.group == "speed":
        both = f"{first.written} and {second.written}"
        return f"use only one of --fast, --relax and --turbo, not {both}."
    return f"{second.written} cannot be used with {first.written}: choose one."


def merge(layers: list[list[Assignment]]) -> dict[str, Assignment]:
    """The effective assignment of every parameter; higher layers (later) win, by group too."""
    chosen: dict[str, Assignment] = {}
    for assignments in layers:
        for assignment in assignments:
            group = assignment.spec.group
            if group:
                for name in [n for n, a in chosen.items() if a.spec.group == group]:
                    del chosen[name]
            chosen[assignment.spec.name] = assignment
    return chosen
