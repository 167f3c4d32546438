"""The canonical text of a prompt's segments and parameters (spec section 6)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from bot.prompt.numbers import format_number
from bot.prompt.parts import Params, Segment
from bot.prompt.table import PARAMETERS, Kind, ParamSpec


def write_segments(segments: Iterable[Segment]) -> list[str]:
    """Segments as text; weights only where there are several or one is not 1."""
    listed = list(segments)
    if len(listed) == 1 and listed[0].weight == 1:
        return [listed[0].text]
    return [f"{segment.text}::{format_number(segment.weight)}" for segment in listed]


def _value_text(spec: ParamSpec, value: Any) -> str:
    writer = _WRITERS.get(spec.kind)
    return "" if writer is None or value is None else writer(value)


_WRITERS: dict[Kind, Callable[[Any], str]] = {
    Kind.INT: str,
    Kind.OPTIONAL_INT: str,
    Kind.NUMBER: format_number,
    Kind.ASPECT: str,
    Kind.TERMS: ", ".join,
    Kind.URLS: " ".join,
    Kind.SREF: " ".join,
    Kind.URL: str,
    Kind.VERSION: str,
    Kind.NIJI: str,
    Kind.STYLE: str,
}


def write_parameters(params: Params, explicit: frozenset[str]) -> list[str]:
    """The written parameters, in table order, each as ``--name value``."""
    parts: list[str] = []
    for spec in PARAMETERS:
        if spec.name not in explicit:
            continue
        value = _value_text(spec, getattr(params, spec.target))
        parts.append(f"--{spec.flag} {value}" if value else f"--{spec.flag}")
    return parts
