"""One pass over the text: leading image URLs, the prompt text, and the raw parameters.

Dashes are found with ``str.find`` and the only regular expressions are linear (no nested
repetition), so no input makes the scan slow.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# A parameter starts at "--" or an em dash (phones turn "--" into one) before a letter, at the
# start or after whitespace. Found with str.find: far cheaper than a regex tried at each position.
_DASHES = ("--", "—")
_NAME = re.compile(r"\S*")
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


def parameter_starts(text: str) -> list[tuple[int, int]]:
    """Where each parameter starts, with the width of its dash, in order."""
    found: list[tuple[int, int]] = []
    for dash in _DASHES:
        width = len(dash)
        index = text.find(dash)
        while index >= 0:
            after = index + width
            if (
                after < len(text)
                and text[after].isalpha()
                and (index == 0 or text[index - 1].isspace())
            ):
                found.append((index, width))
            index = text.find(dash, index + 1)
    return sorted(found) if len(found) > 1 else found


def scan(text: str) -> Scan:
    """Split a prompt into image URLs, text and parameters."""
    starts = parameter_starts(text)
    body_end = starts[0][0] if starts else len(text)

    image_urls: list[tuple[str, tuple[int, int]]] = []
    position = 0
    url = _LEADING_URL.match(text, 0, body_end)
    while url is not None:
        image_urls.append((url.group(1), url.span(1)))
        position = url.end()
        url = _LEADING_URL.match(text, position, body_end)

    parameters: list[RawParameter] = []
    for index, (start, width) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(text)
        name = _NAME.match(text, start + width, end)
        name_end = name.end() if name is not None else start + width
        value = text[name_end:end]
        span = (start, name_end + len(value.rstrip()))
        parameters.append(RawParameter(text[start + width : name_end].lower(), value.strip(), span))
    return Scan(image_urls, text[position:body_end], (position, body_end), parameters)
