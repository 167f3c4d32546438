"""Action tokens in custom ids and the mapping of provider buttons to actions."""

from __future__ import annotations

import pytest

from bot.providers.base import Action, ProviderButton
from bot.ui.actions import (
    CANCEL,
    INFO,
    ButtonAction,
    action_token,
    offered_actions,
    parse_token,
    provider_action,
)


@pytest.mark.parametrize(
    ("action", "index", "token"),
    [
        (Action.UPSCALE, 1, "u1"),
        (Action.UPSCALE, 4, "u4"),
        (Action.VARIATION, 2, "v2"),
        (Action.REROLL, 0, "reroll"),
        (Action.PAN_LEFT, 0, "pan_left"),
        (Action.ZOOM_OUT_1_5X, 0, "zoom_out_1_5x"),
        (Action.ENHANCE, 0, "enhance"),
    ],
)
def test_tokens_round_trip(action: Action, index: int, token: str) -> None:
    assert action_token(action, index) == token
    assert parse_token(token) == ButtonAction(token, action, index)


@pytest.mark.parametrize("token", [INFO, CANCEL])
def test_info_and_cancel_tokens(token: str) -> None:
    assert parse_token(token) == ButtonAction(token, None)


@pytest.mark.parametrize("token", ["u0", "u5", "v9", "upscale", "variation", "x", "", "U1"])
def test_unknown_tokens_are_none(token: str) -> None:
    assert parse_token(token) is None


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
        ("MJ::JOB::pan_right::1::abc::SOLO", Action.PAN_RIGHT),
        ("MJ::JOB::pan_up::1::abc::SOLO", Action.PAN_UP),
        ("MJ::JOB::pan_down::1::abc::SOLO", Action.PAN_DOWN),
        ("MJ::JOB::upsample::1::abc", None),
        ("MJ::JOB::variation::2::abc", None),
        ("MJ::JOB::reroll::0::abc::SOLO", None),
        ("MJ::CustomZoom::abc", None),
    ],
)
def test_provider_buttons_map_to_single_image_actions(
    custom_id: str, action: Action | None
) -> None:
    assert provider_action(ProviderButton(custom_id=custom_id)) is action


def test_offered_actions_keep_display_order_and_drop_unknown() -> None:
    buttons = [
        ProviderButton(custom_id="MJ::JOB::pan_left::1::h::SOLO"),
        ProviderButton(custom_id="MJ::CustomZoom::h"),
        ProviderButton(custom_id="MJ::JOB::upsample_v7_2x_subtle::1::h::SOLO"),
        ProviderButton(custom_id="MJ::JOB::pan_left::1::h2::SOLO"),
    ]
    assert offered_actions(buttons) == [Action.UPSCALE_SUBTLE, Action.PAN_LEFT]
