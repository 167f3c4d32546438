"""The code table and failReasons, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from bot.errors import FailureKind, ProviderBusy, ProviderError, ProviderRejected
from bot.providers.midjourney.codes import (
    SystemFailure,
    classify_failure,
    interpret_submit,
    is_modal_answer,
)


def body(code: Any, result: Any = "T9", **props: Any) -> dict[str, Any]:
    return {"code": code, "description": "d", "result": result, "properties": props}


@pytest.mark.parametrize(
    ("answer", "task_id", "position", "existing"),
    [
        (body(1), "T9", None, False),
        (body("1"), "T9", None, False),
        (body(1, 1234), "1234", None, False),
        (body(22, numberOfQueues=4), "T9", 4, False),
        (body(22), "T9", 1, False),
        (body(21), "T9", None, True),
    ],
)
def test_accepted_answers(
    answer: dict[str, Any], task_id: str, position: int | None, existing: bool
) -> None:
    submission = interpret_submit(answer)
    assert (submission.task_id, submission.queue_position, submission.existing) == (
        task_id,
        position,
        existing,
    )


@pytest.mark.parametrize(
    ("answer", "error", "kind"),
    [
        (body(23, None), ProviderBusy, FailureKind.QUEUE_FULL),
        (body(24, None, bannedWord="gore"), ProviderRejected, FailureKind.BANNED_PROMPT),
        (body(3, None), ProviderRejected, FailureKind.PARENT_EXPIRED),
        (body(4, None), ProviderRejected, FailureKind.INVALID_REQUEST),
        (body(9, None), SystemFailure, FailureKind.PROVIDER_ERROR),
        (body(77), ProviderError, FailureKind.PROVIDER_ERROR),
        (body(None), ProviderError, FailureKind.PROVIDER_ERROR),
        (body(True), ProviderError, FailureKind.PROVIDER_ERROR),
        (body(1, None), ProviderError, FailureKind.PROVIDER_ERROR),
        (body(1, ""), ProviderError, FailureKind.PROVIDER_ERROR),
    ],
)
def test_refusals(answer: dict[str, Any], error: type[ProviderError], kind: FailureKind) -> None:
    with pytest.raises(error) as caught:
        interpret_submit(answer)
    assert caught.value.kind is kind
    assert caught.value.message


def test_banned_answer_names_the_word() -> None:
    with pytest.raises(ProviderRejected) as caught:
        interpret_submit(body(24, None, bannedWord="gore"))
    assert caught.value.banned_word == "gore"
    assert "gore" in caught.value.message


@pytest.mark.parametrize(
    ("answer", "modal"),
    [
        (body(21, status="MODAL"), True),
        ({"code": 21, "description": "Waiting for window confirm", "result": "T"}, False),
        ({"code": 21, "description": "窗口等待", "result": "T"}, True),
        ({"code": 21, "description": "Please use the modal", "result": "T"}, True),
        (body(21, status="SUCCESS"), False),
    ],
)
def test_modal_detection(answer: dict[str, Any], modal: bool) -> None:
    assert is_modal_answer(answer) is modal


@pytest.mark.parametrize(
    ("reason", "kind", "word"),
    [
        ("Banned prompt detected", FailureKind.BANNED_PROMPT, None),
        ("Banned word: gore", FailureKind.BANNED_PROMPT, "gore"),
        ("可能包含敏感词", FailureKind.BANNED_PROMPT, None),
        ("Request cancelled due to output filters", FailureKind.MODERATION, None),
        ("AI moderator flagged this; appeal?", FailureKind.MODERATION, None),
        ("Your fast hours have run out", FailureKind.FAST_HOURS_EXHAUSTED, None),
        ("credits exhausted", FailureKind.FAST_HOURS_EXHAUSTED, None),
        ("Task cancelled by user", FailureKind.CANCELLED, None),
        ("取消任务", FailureKind.CANCELLED, None),
        ("任务超时", FailureKind.TIMEOUT, None),
        ("Task timed out", FailureKind.TIMEOUT, None),
        ("instance disconnected", FailureKind.PROVIDER_ERROR, None),
        (None, FailureKind.PROVIDER_ERROR, None),
    ],
)
def test_fail_reasons(reason: str | None, kind: FailureKind, word: str | None) -> None:
    found_kind, message, found_word = classify_failure(reason)
    assert (found_kind, found_word) == (kind, word)
    assert message.endswith(".")
