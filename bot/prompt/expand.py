"""``expand_prompt``: ``{a, b}`` permutations and ``--repeat``, one text per job.

Jobs are counted before they are built: every partial cross product is checked against
``max_jobs`` first, so ``{a,b}`` written thirty times fails at once. The walk keeps its own
stack (no recursion), so deep nesting cannot exhaust Python's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.prompt import issues as codes
from bot.prompt.issues import IssueLog, PromptError, PromptIssue
from bot.prompt.layers import Layer, read_layer
from bot.prompt.parser import MAX_LENGTH
from bot.prompt.scanner import scan
from bot.prompt.table import BY_CANONICAL

_SPECIAL = re.compile(r"\\[,{}]|[{},]")
_REPEAT = BY_CANONICAL["repeat"]


@dataclass
class _Group:
    """An open ``{``: the texts of its finished alternatives and of the current one."""

    done: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=lambda: [""])


def _too_many(max_jobs: int) -> PromptError:
    message = (
        f"This prompt makes more than {max_jobs} jobs: use fewer {{a, b}} options "
        "or a smaller --repeat."
    )
    return PromptError([PromptIssue(code=codes.TOO_MANY_JOBS, message=message)])


def _tokens(text: str) -> list[str]:
    """Literal chunks and the characters ``{``, ``}``, ``,`` where they are syntax."""
    pieces: list[str] = []
    position = 0
    for match in _SPECIAL.finditer(text):
        pieces.append(text[position : match.start()])
        special = match.group()
        # An escaped character is literal: kept as a one-element list marker below.
        pieces.append(special[1] if special.startswith("\\") else "\0" + special)
        position = match.end()
    pieces.append(text[position:])
    return _unmatched_to_text(pieces)


def _unmatched_to_text(pieces: list[str]) -> list[str]:
    """Braces without a partner, and commas outside braces, are plain text."""
    open_at: list[int] = []
    for index, piece in enumerate(pieces):
        if piece == "\0{":
            open_at.append(index)
        elif piece == "\0}":
            if open_at:
                open_at.pop()
            else:
                pieces[index] = "}"
    for index in open_at:
        pieces[index] = "{"
    depth = 0
    for index, piece in enumerate(pieces):
        if piece == "\0{":
            depth += 1
        elif piece == "\0}":
            depth -= 1
        elif piece == "\0," and depth == 0:
            pieces[index] = ","
    return pieces


def _permutations(text: str, max_jobs: int) -> list[str]:
    stack = [_Group()]
    for piece in _tokens(text):
        top = stack[-1]
        if piece == "\0{":
            stack.append(_Group())
        elif piece == "\0,":
            top.done.extend(option.strip() for option in top.current)
            top.current = [""]
        elif piece == "\0}":
            stack.pop()
            options = [*top.done, *(option.strip() for option in top.current)]
            parent = stack[-1]
            if len(parent.current) * len(options) + len(parent.done) > max_jobs:
                raise _too_many(max_jobs)
            parent.current = [prefix + option for prefix in parent.current for option in options]
        else:
            top.current = [prefix + piece for prefix in top.current]
        if len(stack[-1].done) + len(stack[-1].current) > max_jobs:
            raise _too_many(max_jobs)
    return [option.strip() for option in stack[0].current]


def _repeat(text: str) -> tuple[str, int]:
    """The text without its ``--repeat``, and the number of runs it asked for."""
    parameters = [p for p in scan(text).parameters if p.name in _REPEAT.names]
    if not parameters:
        return text, 1
    log = IssueLog()
    assignments = read_layer(Layer(parameters, None), {}, log)
    log.raise_if_errors()
    kept = text
    for parameter in reversed(parameters):
        start, end = parameter.span
        kept = f"{kept[:start].rstrip()} {kept[end:].lstrip()}".strip()
    return kept, int(assignments[0].value)


def expand_prompt(text: str, *, max_jobs: int = 40) -> list[str]:
    """One prompt text per job: permutations expanded left to right, each repeated."""
    if len(text.strip()) > MAX_LENGTH:
        message = f"The prompt is longer than {MAX_LENGTH} characters: shorten it."
        raise PromptError([PromptIssue(code=codes.PROMPT_TOO_LONG, message=message)])
    jobs: list[str] = []
    for permutation in _permutations(text, max_jobs):
        kept, runs = _repeat(permutation)
        if len(jobs) + runs > max_jobs:
            raise _too_many(max_jobs)
        jobs.extend([kept] * runs)
    return jobs
