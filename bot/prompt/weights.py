"""Multi-prompts: splitting the text at ``::`` and reading the weights written after it."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.prompt.numbers import WEIGHT

# Far beyond any useful weight; keeps sums finite whatever is written.
MAX_WEIGHT = 1_000_000.0


@dataclass(frozen=True)
class WrittenWeight:
    """A weight as written after ``::``: its value, text and position in the text."""

    value: float
    text: str
    span: tuple[int, int]


@dataclass
class Segmented:
    """The segments of a text, the weights written in it, and the malformed ones."""

    segments: list[tuple[str, float]] = field(default_factory=list)
    weights: list[WrittenWeight] = field(default_factory=list)
    malformed: list[tuple[int, int]] = field(default_factory=list)


def _is_number_start(text: str, index: int) -> bool:
    """Whether what follows ``::`` at ``index`` is meant as a number (``2``, ``.5``, ``-1``)."""
    if index < len(text) and text[index] == "-":
        index += 1
    if index < len(text) and text[index] == ".":
        index += 1
    return index < len(text) and text[index].isdigit()


def _run_end(text: str, index: int) -> int:
    """The end of the run of non-space characters at ``index``, stopping before ``::``."""
    end = index
    while end < len(text) and not text[end].isspace() and not text.startswith("::", end):
        end += 1
    return end


def split_segments(text: str) -> Segmented:
    """Split at every ``::``; a number right after it weighs the segment before it."""
    result = Segmented()
    start = 0
    position = text.find("::")
    while position >= 0:
        weight = 1.0
        resume = position + 2
        if _is_number_start(text, resume):
            end = _run_end(text, resume)
            match = WEIGHT.match(text, resume, end)
            number = float(match.group()) if match is not None and match.end() == end else None
            if number is None or abs(number) > MAX_WEIGHT:
                result.malformed.append((resume, end))
            else:
                weight = number
                result.weights.append(WrittenWeight(number, text[resume:end], (resume, end)))
            resume = end
        _add(result, text[start:position], weight)
        start = resume
        position = text.find("::", resume)
    _add(result, text[start:], 1.0)
    return result


def _add(result: Segmented, text: str, weight: float) -> None:
    stripped = text.strip()
    if stripped:
        result.segments.append((stripped, weight))
