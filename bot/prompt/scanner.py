"""One pass over the text: leading image URLs, the prompt text, and the raw parameters.

Only linear regular expressions are used (fixed-width look-behind, no nested repetition), so
no input makes the scan slow.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# A parameter starts at "--" or an em dash before a letter, at the start or after whitespace
# (checked in Python: a look-behind tried at every position is slower on long texts).
_PARAMETER = re.compile(r"(?:--|—)([^\W\d_]\S*)")
# Image prompts: whole leading tokens written as http(s) URLs.
_LEADING_URL = re.compile(r"\s*(https?://\S*)", re.IGNORECASE)
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


class Scan(NamedTuple):
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
    found = [
        match
        for match in _PARAMETER.finditer(text)
        if match.start() == 0 or text[match.start() - 1].isspace()
    ]
    body_end = found[0].start() if found else len(text)

    image_urls: list[tuple[str, tuple[int, int]]] = []
    position = 0
    url = _LEADING_URL.match(text, 0, body_end)
    while url is not None:
        image_urls.append((url.group(1), url.span(1)))
        position = url.end()
        url = _LEADING_URL.match(text, position, body_end)

    parameters: list[RawParameter] = []
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(text)
        value = text[match.end() : end]
        span = (match.start(), match.end() + len(value.rstrip()))
        parameters.append(RawParameter(match.group(1).lower(), value.strip(), span))
    return Scan(image_urls, text[position:body_end], (position, body_end), parameters)
