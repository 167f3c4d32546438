"""The protocol's answers mapped to Tessera's terms, once, at this boundary.

A submit answer (``{code, description, result, properties}``) becomes a ``Submission`` or one
of the ``ProviderError`` subclasses; a task's ``failReason`` becomes a ``FailureKind`` and a
message a user can read. Nothing above this module sees a protocol code.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from enum import IntEnum
from typing import Any

from bot.errors import FailureKind, ProviderBusy, ProviderError, ProviderRejected
from bot.providers.base import Submission

log = logging.getLogger(__name__)


class ReturnCode(IntEnum):
    """The submit answer codes both open-source servers share."""

    SUBMITTED = 1
    NOT_FOUND = 3
    VALIDATION_ERROR = 4
    FAILURE = 9
    EXISTED = 21
    IN_QUEUE = 22
    QUEUE_REJECTED = 23
    BANNED_PROMPT = 24


QUEUE_FULL_MESSAGE = "The image provider's queue is full; your job stays queued."
MALFORMED_MESSAGE = "The image provider sent an answer the bot cannot read."

_FAILURE_MESSAGES: dict[FailureKind, str] = {
    FailureKind.BANNED_PROMPT: "The image provider refused the prompt as banned.",
    FailureKind.MODERATION: (
        "The image provider's moderation stopped this image (output filters); "
        "try rewording the prompt."
    ),
    FailureKind.FAST_HOURS_EXHAUSTED: (
        "The image provider's account has run out of fast hours; try again later."
    ),
    FailureKind.CANCELLED: "The task was cancelled at the image provider.",
    FailureKind.TIMEOUT: "The image provider gave up on this task (it timed out).",
}

# Checked in order: a moderation appeal that mentions a banned prompt is still moderation.
_REASON_PATTERNS: tuple[tuple[FailureKind, re.Pattern[str]], ...] = (
    (
        FailureKind.MODERATION,
        re.compile(r"output filter|moderat|appeal|community guidelines", re.IGNORECASE),
    ),
    (FailureKind.BANNED_PROMPT, re.compile(r"banned|敏感词|违禁", re.IGNORECASE)),
    (
        FailureKind.FAST_HOURS_EXHAUSTED,
        re.compile(
            r"fast hours|credits? (?:are |have been )?exhausted|run out of|subscription",
            re.IGNORECASE,
        ),
    ),
    (FailureKind.CANCELLED, re.compile(r"cancel+ed by|取消|^cancel", re.IGNORECASE)),
    (FailureKind.TIMEOUT, re.compile(r"timed? ?out|超时", re.IGNORECASE)),
)
_BANNED_WORD = re.compile(r"(?:banned )?word[s]?\s*[:：]\s*[\"'“]?([^\"'”,;\s]+)", re.IGNORECASE)


def classify_failure(reason: str | None) -> tuple[FailureKind, str, str | None]:
    """A ``failReason`` as (kind, user-facing message, banned word if named)."""
    text = (reason or "").strip()
    for kind, pattern in _REASON_PATTERNS:
        if pattern.search(text):
            word = None
            if kind is FailureKind.BANNED_PROMPT and (match := _BANNED_WORD.search(text)):
                word = match.group(1)
            message = _FAILURE_MESSAGES[kind]
            if word:
                message = f"The image provider refused the prompt: the word “{word}” is banned."
            return kind, message, word
    detail = f" ({text[:200]})" if text else ""
    return (
        FailureKind.PROVIDER_ERROR,
        f"The image provider failed to make this image{detail}.",
        None,
    )


def _properties(body: Mapping[str, Any]) -> Mapping[str, Any]:
    props = body.get("properties")
    return props if isinstance(props, Mapping) else {}


def _task_id(body: Mapping[str, Any]) -> str:
    result = body.get("result")
    if isinstance(result, str | int) and not isinstance(result, bool) and str(result):
        return str(result)
    raise ProviderError(MALFORMED_MESSAGE)


def is_modal_answer(body: Mapping[str, Any]) -> bool:
    """Whether a code-21 answer asks for ``/submit/modal`` (trueai) rather than a repeat."""
    status = str(_properties(body).get("status", "")).upper()
    description = str(body.get("description", ""))
    return status == "MODAL" or re.search(r"modal|窗口", description, re.IGNORECASE) is not None


def answer_code(body: Mapping[str, Any]) -> int | None:
    """The ``code`` of a submit answer, or None when the answer has none."""
    code = body.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        return int(code)
    return None


def interpret_submit(body: Mapping[str, Any]) -> Submission:
    """A submit answer as a ``Submission``, or the typed refusal it stands for.

    Code 9 (system failure) raises ``ProviderError`` with ``retryable`` left for the caller,
    which retries it a bounded number of times; code 21 is returned with ``existing=True``
    (the caller checks ``is_modal_answer`` first).
    """
    code = answer_code(body)
    description = str(body.get("description", ""))
    props = _properties(body)
    if code in (ReturnCode.SUBMITTED, ReturnCode.IN_QUEUE):
        position = props.get("numberOfQueues")
        queue_position = position if isinstance(position, int) and position >= 0 else None
        if code == ReturnCode.IN_QUEUE and queue_position is None:
            queue_position = 1
        return Submission(task_id=_task_id(body), queue_position=queue_position)
    if code == ReturnCode.EXISTED:
        return Submission(task_id=_task_id(body), existing=True)
    if code == ReturnCode.QUEUE_REJECTED:
        raise ProviderBusy(QUEUE_FULL_MESSAGE)
    if code == ReturnCode.BANNED_PROMPT:
        word = props.get("bannedWord")
        banned = str(word) if isinstance(word, str) and word else None
        message = (
            f"The image provider refused the prompt: the word “{banned}” is banned."
            if banned
            else "The image provider refused the prompt as banned."
        )
        raise ProviderRejected(message, kind=FailureKind.BANNED_PROMPT, banned_word=banned)
    if code == ReturnCode.NOT_FOUND:
        raise ProviderRejected(
            "The original image has expired at the image provider; run /imagine again.",
            kind=FailureKind.PARENT_EXPIRED,
        )
    if code == ReturnCode.VALIDATION_ERROR:
        log.warning("provider refused a request as invalid: %s", description[:300])
        raise ProviderRejected(
            "The image provider refused the request as invalid.",
            kind=FailureKind.INVALID_REQUEST,
        )
    if code == ReturnCode.FAILURE:
        log.warning("provider reported a system failure: %s", description[:300])
        raise SystemFailure("The image provider failed to accept the request; try again later.")
    log.warning("provider answered with unknown code %r: %s", code, description[:300])
    raise ProviderError(MALFORMED_MESSAGE)


class SystemFailure(ProviderError):
    """Code 9: the provider failed internally; worth a bounded number of retries."""

    retryable = True
