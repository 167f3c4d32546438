"""One pass over the text: leading image URLs, the prompt text, and the raw parameters.

Only linear regular expressions are used (fixed-width look-behind, no nested repetition), so
no input makes the scan slow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

# A parameter starts at "--" or an em dash before a letter, at the start or after whitespace
# (checked in Python: a look-behind tried at every position is slower on long texts).
_DASH_BEFORE_LETTER = re.compile(r"(?:--|—)(?=[^\W\d_])")
_TOKEN = re.compile(r"\S+")
_URL_PREFIX = re.compile(r"https?://", re.IGNORECASE)


class RawParameter(NamedTuple):
    """A parameter as written: its name (lower case, no dashes) and the text of its value."""

    name: str
    value: str
    span: tuple[int, int]

    @property
    def written(self) -> str:
        """The name with its dashes, as messages quote it."""
        return f"--{self.name}"


@dataclass(frozen=True)
class Scan:
    """The parts of one prompt text; ``text_span`` locates the prompt text in the input."""

    image_urls: list[tuple[str, tuple[int, int]]]
    text: str
    text_span: tuple[int, int]
    parameters: list[RawParameter]


def looks_like_url(token: str) -> bool:
    """Whether a token is written as an http(s) URL (valid or not)."""
    return _URL_PREFIX.match(token) is not None


def scan(text: str) -> Scan:
    """Split a prompt into image URLs, text and parameters."""
    starts = [
        match.start()
        for match in _DASH_BEFORE_LETTER.finditer(text)
        if match.start() == 0 or text[match.start() - 1].isspace()
    ]
    body_end = starts[0] if starts else len(text)

    image_urls: list[tuple[str, tuple[int, int]]] = []
    text_start = 0
    for match in _TOKEN.finditer(text, 0, body_end):
        if not looks_like_url(match.group()):
            text_start = match.start()
            break
        image_urls.append((match.group(), match.span()))
        text_start = match.end()
    else:
        text_start = body_end if image_urls else 0

    parameters: list[RawParameter] = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        dash_width = 2 if text.startswith("--", start) else 1
        chunk = text[start + dash_width : end]
        name = _TOKEN.match(chunk)
        name_text = name.group() if name is not None else ""
        value = chunk[len(name_text) :]
        stripped_end = start + dash_width + len(chunk.rstrip())
        parameters.append(
            RawParameter(name=name_text.lower(), value=value.strip(), span=(start, stripped_end))
        )
    return Scan(
        image_urls=image_urls,
        text=text[text_start:body_end],
        text_span=(text_start, body_end),
        parameters=parameters,
    )
