"""customId shapes to actions, table-driven."""

from __future__ import annotations

import pytest

from bot.model import Action, ProviderButton
from bot.providers.midjourney import classify_custom_id, find_button


@pytest.mark.parametrize(
    ("custom_id", "expected"),
    [
        ("MJ::JOB::upsample::3::abc", (Action.UPSCALE, 3)),
        ("MJ::JOB::variation::1::abc", (Action.VARIATION, 1)),
        ("MJ::JOB::reroll::0::abc::SOLO", (Action.REROLL, 0)),
        ("MJ::JOB::low_variation::1::abc::SOLO", (Action.VARY_SUBTLE, 0)),
        ("MJ::JOB::high_variation::1::abc::SOLO", (Action.VARY_STRONG, 0)),
        ("MJ::Outpaint::50::1::abc::SOLO", (Action.ZOOM_OUT_2X, 0)),
        ("MJ::Outpaint::75::1::abc::SOLO", (Action.ZOOM_OUT_1_5X, 0)),
        ("MJ::JOB::pan_left::1::abc::SOLO", (Action.PAN_LEFT, 0)),
        ("MJ::JOB::pan_right::1::abc::SOLO", (Action.PAN_RIGHT, 0)),
        ("MJ::JOB::pan_up::1::abc::SOLO", (Action.PAN_UP, 0)),
        ("MJ::JOB::pan_down::1::abc::SOLO", (Action.PAN_DOWN, 0)),
        ("MJ::JOB::upsample_v7_2x_subtle::1::abc::SOLO", (Action.UPSCALE_SUBTLE, 0)),
        ("MJ::JOB::upsample_v6_2x_creative::1::abc::SOLO", (Action.UPSCALE_CREATIVE, 0)),
        ("MJ::CustomZoom::abc", None),
        ("MJ::Inpaint::1::abc::SOLO", None),
        ("", None),
    ],
)
def test_classify(custom_id: str, expected: tuple[Action, int] | None) -> None:
    assert classify_custom_id(custom_id) == expected


GRID = tuple(
    ProviderButton(custom_id=cid)
    for cid in [
        *(f"MJ::JOB::upsample::{n}::h" for n in range(1, 5)),
        *(f"MJ::JOB::variation::{n}::h" for n in range(1, 5)),
        "MJ::JOB::reroll::0::h::SOLO",
    ]
)


@pytest.mark.parametrize(
    ("action", "index", "expected"),
    [
        (Action.UPSCALE, 2, "MJ::JOB::upsample::2::h"),
        (Action.VARIATION, 4, "MJ::JOB::variation::4::h"),
        (Action.REROLL, 0, "MJ::JOB::reroll::0::h::SOLO"),
        (Action.REROLL, 3, "MJ::JOB::reroll::0::h::SOLO"),
        (Action.UPSCALE, 5, None),
        (Action.VARY_SUBTLE, 0, None),
    ],
)
def test_find_button(action: Action, index: int, expected: str | None) -> None:
    button = find_button(GRID, action, index)
    assert (button.custom_id if button else None) == expected
