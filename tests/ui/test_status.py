"""The status line, result text, refund notes and the Info embed."""

from __future__ import annotations

import re

import pytest

from bot.errors import FailureKind
from bot.model import Action, JobKind, JobState, SpeedMode
from bot.ui.status import (
    failure_reason,
    info_embed,
    preview_embeds,
    refund_note,
    result_content,
    status_content,
)
from tests.ui.jobs import make_job


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "**a red fox --seed 7** - <@3> (Waiting to start) (fast)"),
        ({"state": JobState.SUBMITTING}, "**a red fox --seed 7** - <@3> (Starting) (fast)"),
        (
            {"state": JobState.RUNNING, "progress": 45, "speed": SpeedMode.RELAX},
            "**a red fox --seed 7** - <@3> (45%) (relax)",
        ),
        ({"state": JobState.SUCCEEDED}, "**a red fox --seed 7** - <@3> (Done)"),
        (
            {"state": JobState.CANCELLED},
            "**a red fox --seed 7** - <@3> (Cancelled. Your 1 credits were refunded.)",
        ),
        (
            {
                "kind": JobKind.UPSCALE,
                "action": Action.UPSCALE,
                "action_index": 2,
                "state": JobState.RUNNING,
                "progress": 10,
            },
            "**a red fox --seed 7** - Image #2 <@3> (10%) (fast)",
        ),
    ],
)
def test_status_content(changes: dict[str, object], expected: str) -> None:
    assert status_content(make_job(**changes)) == expected


def test_status_content_escapes_the_prompt() -> None:
    text = status_content(make_job(prompt="**bold** @everyone <@99> --seed 1"))
    assert "@everyone" not in text.replace("@\u200beveryone", "")
    assert "<@99>" not in text
    assert "\\*\\*bold\\*\\*" in text


@pytest.mark.parametrize(
    ("kind", "message", "contains"),
    [
        (FailureKind.BANNED_PROMPT, "banned word: gore", ["banned word", "gore"]),
        (FailureKind.MODERATION, None, ["moderation"]),
        (FailureKind.UNAVAILABLE, None, ["unavailable"]),
        (FailureKind.TIMEOUT, None, ["too long"]),
        (FailureKind.DELIVERY, None, ["could not be posted"]),
        (None, None, ["reported an error"]),
    ],
)
def test_failure_reason_names_the_cause(
    kind: FailureKind | None, message: str | None, contains: list[str]
) -> None:
    job = make_job(state=JobState.FAILED, failure_kind=kind, failure_message=message)
    reason = failure_reason(job)
    assert reason.startswith("Failed: ")
    for part in contains:
        assert part in reason
    assert "refunded" in status_content(job)


@pytest.mark.parametrize(
    ("cost", "unit", "expected"),
    [
        (1000, "credits", "Your 1 credits were refunded."),
        (1250, "GPU minutes", "Your 1.25 GPU minutes were refunded."),
        (0, "credits", "Nothing was charged."),
    ],
)
def test_refund_note(cost: int, unit: str, expected: str) -> None:
    assert refund_note(make_job(cost=cost), unit) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "**a red fox --seed 7** - <@3> (fast)"),
        (
            {"kind": JobKind.UPSCALE, "action": Action.UPSCALE, "action_index": 3},
            "**a red fox --seed 7** - Image #3 <@3>",
        ),
        (
            {"kind": JobKind.VARIATION, "action": Action.VARIATION, "action_index": 1},
            "**a red fox --seed 7** - Variations (V1) by <@3> (fast)",
        ),
        (
            {"kind": JobKind.ZOOM, "action": Action.ZOOM_OUT_2X, "speed": SpeedMode.TURBO},
            "**a red fox --seed 7** - Zoom Out 2x by <@3> (turbo)",
        ),
    ],
)
def test_result_content(changes: dict[str, object], expected: str) -> None:
    assert result_content(make_job(**changes)) == expected


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://cdn.example/p.png", True),
        ("HTTP://cdn.example/p.png", True),
        ("/mj/attachments/p.png", False),
        ("attachments/p.png", False),
        ("data:image/png;base64,AAAA", False),
        ("ftp://cdn.example/p.png", False),
        ("https://", False),
    ],
)
def test_preview_only_for_web_urls(url: str, shown: bool) -> None:
    # Discord refuses the whole edit (50035) for an embed image that is not an http(s) URL.
    running = make_job(state=JobState.RUNNING, preview_url=url)
    assert [embed.image.url for embed in preview_embeds(running)] == ([url] if shown else [])


def test_preview_only_while_running_with_a_preview() -> None:
    running = make_job(state=JobState.RUNNING, preview_url="https://cdn.example/p.png")
    assert [embed.image.url for embed in preview_embeds(running)] == ["https://cdn.example/p.png"]
    assert preview_embeds(make_job(state=JobState.RUNNING)) == []
    done = make_job(state=JobState.SUCCEEDED, preview_url="https://cdn.example/p.png")
    assert preview_embeds(done) == []


def test_info_embed_shows_seed_prompt_id_and_cost() -> None:
    embed = info_embed(make_job(cost=2500, seed=1234, prompt="a *cat* --seed 1234"))
    fields = {field.name: field.value for field in embed.fields}
    assert embed.title == "Job #42"
    assert fields["Seed"] == "1234"
    assert fields["Cost"] == "2.5 credits"
    assert embed.description is not None
    assert "\\*cat\\*" in embed.description


_PROVIDER_REASONS = [
    "",
    "Banned prompt detected, banned word: cat",
    "Request cancelled due to output filters",
    "Your job queue is full",
    "You have run out of fast hours",
    "Task cancelled by user",
    "task timed out",
    "some odd failure.",
    "odd (really)!",
]
_BOT_MESSAGES = [
    "The image was made but could not be posted: Discord refused the result (403).",
    "The image provider lost this job and refused it again: The prompt is invalid.",
    "The job was stopped: It made no progress for 5 minutes.",
    "The image provider could not be reached after 5 attempts.",
    "Cancelled by the owner.",
    "What?",
]
_DOUBLED = re.compile(r"[.!?][)\]]?[.!?]")


@pytest.mark.parametrize("kind", list(FailureKind))
def test_no_failure_text_ends_with_doubled_punctuation(kind: FailureKind) -> None:
    # Issue #11: "(The image provider failed to make this image (x).)." was shown.
    from bot.providers.midjourney.codes import classify_failure

    messages = [classify_failure(reason)[1] for reason in _PROVIDER_REASONS] + _BOT_MESSAGES
    for message in messages:
        job = make_job(state=JobState.FAILED, failure_kind=kind, failure_message=message)
        for text in (failure_reason(job), status_content(job)):
            assert not _DOUBLED.search(text.replace("...", "…")), text
