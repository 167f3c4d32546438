"""Task JSON parsing, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from bot.errors import FailureKind
from bot.model import Action
from bot.providers.base import TaskStatus
from bot.providers.midjourney.tasks import parse_task, parse_task_list, provider_origin


@pytest.mark.parametrize(
    ("data", "status", "progress"),
    [
        ({"id": "1", "status": "IN_PROGRESS", "progress": "37%"}, TaskStatus.IN_PROGRESS, 37),
        ({"id": "1", "status": "in_progress", "progress": 37.9}, TaskStatus.IN_PROGRESS, 37),
        ({"id": "1", "status": "IN_PROGRESS", "progress": "250%"}, TaskStatus.IN_PROGRESS, 100),
        ({"id": "1", "status": "SUCCESS", "progress": "0%"}, TaskStatus.SUCCESS, 100),
        ({"id": "1", "status": "MODAL"}, TaskStatus.MODAL, 0),
        ({"id": 5, "status": "NOT_START", "progress": True}, TaskStatus.NOT_START, 0),
        ({"id": "1", "status": None}, TaskStatus.SUBMITTED, 0),
    ],
)
def test_status_and_progress(data: dict[str, Any], status: TaskStatus, progress: int) -> None:
    task = parse_task(data)
    assert task is not None
    assert (task.status, task.progress) == (status, progress)


@pytest.mark.parametrize("data", [None, [], {"status": "SUCCESS"}, {"id": ""}, "x"])
def test_unusable_tasks(data: Any) -> None:
    assert parse_task(data) is None


def test_success_carries_images_buttons_and_seed() -> None:
    task = parse_task(
        {
            "id": "9",
            "status": "SUCCESS",
            "imageUrl": "https://cdn/x.png",
            "imageUrls": [{"url": "https://cdn/1.png"}, "https://cdn/2.png", {"nope": 1}],
            "buttons": [
                {"customId": "MJ::JOB::upsample::1::h", "label": "U1", "style": 2, "type": 2},
                {"label": "no id"},
                "junk",
            ],
            "seed": 1234,
            "state": "77",
        }
    )
    assert task is not None
    assert task.image_url == "https://cdn/x.png"
    assert task.preview_url is None
    assert task.image_urls == ("https://cdn/1.png", "https://cdn/2.png")
    assert [b.custom_id for b in task.buttons] == ["MJ::JOB::upsample::1::h"]
    assert (task.buttons[0].action, task.buttons[0].index) == (Action.UPSCALE, 1)
    assert (task.seed, task.state) == ("1234", "77")


@pytest.mark.parametrize(
    ("custom_id", "action"),
    [
        ("MJ::JOB::upsample_v7_2x_subtle::1::abc::SOLO", Action.UPSCALE_SUBTLE),
        ("MJ::JOB::upsample_v6_2x_creative::1::abc::SOLO", Action.UPSCALE_CREATIVE),
        ("MJ::JOB::low_variation::1::abc::SOLO", Action.VARY_SUBTLE),
        ("MJ::JOB::high_variation::1::abc::SOLO", Action.VARY_STRONG),
        ("MJ::Outpaint::50::1::abc::SOLO", Action.ZOOM_OUT_2X),
        ("MJ::Outpaint::75::1::abc::SOLO", Action.ZOOM_OUT_1_5X),
        ("MJ::JOB::pan_left::1::abc::SOLO", Action.PAN_LEFT),
        ("MJ::JOB::pan_down::1::abc::SOLO", Action.PAN_DOWN),
        ("MJ::JOB::reroll::0::abc::SOLO", Action.REROLL),
        ("MJ::CustomZoom::abc", None),
    ],
)
def test_parsed_buttons_carry_the_bot_action(custom_id: str, action: Action | None) -> None:
    task = parse_task({"id": "9", "status": "SUCCESS", "buttons": [{"customId": custom_id}]})
    assert task is not None
    assert task.buttons[0].action is action


def test_progressing_task_has_a_preview_not_a_result() -> None:
    task = parse_task({"id": "9", "status": "IN_PROGRESS", "imageUrl": "https://cdn/p.webp"})
    assert task is not None
    assert (task.preview_url, task.image_url) == ("https://cdn/p.webp", None)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (
            {"id": "1", "status": "FAILURE", "failReason": "Banned prompt"},
            FailureKind.BANNED_PROMPT,
        ),
        ({"id": "1", "status": "FAILURE"}, FailureKind.PROVIDER_ERROR),
        ({"id": "1", "status": "CANCEL"}, FailureKind.CANCELLED),
    ],
)
def test_failures(data: dict[str, Any], kind: FailureKind) -> None:
    task = parse_task(data)
    assert task is not None
    assert task.terminal
    assert task.failure_kind is kind
    assert task.failure_message


def test_list_skips_entries_without_id() -> None:
    tasks = parse_task_list([{"id": "1", "status": "SUCCESS"}, {"status": "SUCCESS"}, 3])
    assert [t.task_id for t in tasks] == ["1"]
    assert parse_task_list({"id": "1"}) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://cdn.example/p.webp", "https://cdn.example/p.webp"),
        ("/attachments/1/p.png", "http://proxy.test:8080/attachments/1/p.png"),
        ("//cdn.example/p.png", "http://cdn.example/p.png"),
        ("data:image/png;base64,AAAA", None),
        ("file:///etc/passwd", None),
    ],
)
def test_preview_and_image_urls_are_made_usable_or_dropped(url: str, expected: str | None) -> None:
    origin = provider_origin("http://user:pw@proxy.test:8080/mj")
    assert origin == "http://proxy.test:8080"
    running = parse_task({"id": "1", "status": "IN_PROGRESS", "imageUrl": url}, origin=origin)
    done = parse_task(
        {"id": "1", "status": "SUCCESS", "imageUrl": url, "imageUrls": [url]}, origin=origin
    )
    assert running is not None
    assert done is not None
    assert running.preview_url == expected
    assert done.image_url == expected
    assert done.image_urls == ((expected,) if expected else ())
