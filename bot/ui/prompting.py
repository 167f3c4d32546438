"""From the text typed in ``/imagine`` to validated prompts, or a precise error message."""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence

from bot.prompt import (
    DEFAULT_VERSION,
    Prompt,
    PromptError,
    PromptIssue,
    expand_prompt,
    parse_prompt,
)
from bot.ui.text import strip_invisible

MAX_JOBS = 40
"""The most jobs one ``/imagine`` may expand to (permutations times ``--repeat``)."""
_MAX_LISTED = 10
_QUOTE_LIMIT = 60


def build_prompts(
    text: str,
    *,
    defaults: Sequence[str] = (),
    suffix: str = "",
    options: Mapping[str, str] | None = None,
    default_version: str = DEFAULT_VERSION,
    allowed_hosts: Container[str] = (),
) -> list[Prompt]:
    """Expand permutations and ``--repeat``, then parse each job text with the layers.

    Raises ``PromptError`` with the issues of every job text (each distinct issue once).
    """
    texts = expand_prompt(text, max_jobs=MAX_JOBS)
    prompts: list[Prompt] = []
    issues: list[PromptIssue] = []
    for job_text in texts:
        try:
            prompts.append(
                parse_prompt(
                    job_text,
                    default_version=default_version,
                    options=dict(options) if options else None,
                    defaults=defaults,
                    suffix=suffix,
                    allowed_hosts=allowed_hosts,
                )
            )
        except PromptError as exc:
            issues += [_anchored(issue, job_text, text) for issue in exc.issues]
    if issues:
        raise PromptError(list(dict.fromkeys(issues)))
    return prompts


def _anchored(issue: PromptIssue, job_text: str, typed: str) -> PromptIssue:
    """Keep the span only when it points at the same text in what the user typed."""
    if issue.span is None or job_text == typed:
        return issue
    start, end = issue.span
    found = typed.find(job_text[start:end])
    if found < 0:
        return issue.model_copy(update={"span": None})
    return issue.model_copy(update={"span": (found, found + end - start)})


def code_span(part: str) -> str:
    """Quote user text inertly: a code span shows markdown and mentions literally."""
    flat = " ".join(strip_invisible(part).replace("`", "\N{MODIFIER LETTER PRIME}").split())
    if len(flat) > _QUOTE_LIMIT:
        flat = flat[: _QUOTE_LIMIT - 1] + "\N{HORIZONTAL ELLIPSIS}"
    return f"`{flat}`"


def describe_prompt_error(text: str, error: PromptError) -> str:
    """Every issue on its own line, quoting the offending part of ``text`` escaped."""
    lines = []
    for issue in error.issues[:_MAX_LISTED]:
        quoted = ""
        if issue.span is not None:
            start, end = issue.span
            part = text[start:end].strip()
            if part:
                quoted = f"{code_span(part)}: "
        lines.append(f"- {quoted}{issue.message}")
    hidden = len(error.issues) - _MAX_LISTED
    if hidden > 0:
        lines.append(f"- ...and {hidden} more.")
    return "Your prompt has a problem:\n" + "\n".join(lines)
