"""``suggest``: autocomplete for the prompt box, completing the last parameter name or value."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from bot.prompt.scanner import scan
from bot.prompt.table import BY_NAME, PARAMETERS, Kind

# Discord refuses autocomplete choices longer than this.
MAX_CHOICE = 100
_BARE_DASH = re.compile(r"(?:^|(?<=\s))(?:--|—)$")


def _names(prefix: str, written: set[str], options: Iterable[str]) -> list[str]:
    names = [
        name
        for spec in PARAMETERS
        if spec.name not in written
        for name in spec.names
        if name.startswith(prefix)
    ]
    names.extend(name for name in options if name.startswith(prefix) and name not in BY_NAME)
    # The exact name first: "--s" is most likely meant as --s itself.
    return sorted(names, key=lambda name: name != prefix)


def _fit(base: str, completions: Iterable[str], limit: int) -> list[str]:
    texts = [base + completion for completion in completions]
    return [text for text in texts if len(text) <= MAX_CHOICE][:limit]


def suggest(text: str, *, limit: int = 25, options: Mapping[str, str] | None = None) -> list[str]:
    """Whole-text completions of what the user typed: parameter names, then typical values."""
    if len(text) >= MAX_CHOICE or limit <= 0:
        return []
    custom = [name.lower().removeprefix("--") for name in (options or {})]
    parameters = scan(text).parameters
    written = {BY_NAME[p.name].name for p in parameters if p.name in BY_NAME}
    if _BARE_DASH.search(text):
        return _fit(text, _names("", written, custom), limit)
    if not parameters:
        return []
    last = parameters[-1]
    start = last.span[0]
    dash = text[start : start + 2] if text.startswith("--", start) else text[start]
    trailing_space = text[-1:].isspace()
    if not last.value and not trailing_space:
        written.discard(BY_NAME[last.name].name if last.name in BY_NAME else "")
        return _fit(text[:start] + dash, _names(last.name, written, custom), limit)
    spec = BY_NAME.get(last.name)
    finished = bool(last.value) and trailing_space
    if spec is None or spec.kind is Kind.FLAG or finished or " " in last.value:
        return []
    base = text[: len(text) - len(last.value)] if last.value else text
    values = [value for value in spec.suggestions if value.startswith(last.value)]
    if values == [last.value]:
        return []
    return _fit(base, values, limit)
