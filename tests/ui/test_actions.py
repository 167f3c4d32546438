"""Action tokens in custom ids and the mapping of provider buttons to actions."""

from __future__ import annotations

import pytest

from bot.model import Action, ProviderButton
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


@pytest.mark.parametrize("action", list(Action))
def test_provider_action_is_the_button_action_when_single_image(action: Action) -> None:
    button = ProviderButton(custom_id="opaque", action=action)
    expected = (
        None
        if action in (Action.UPSCALE, Action.VARIATION, Action.REROLL, Action.ENHANCE)
        else action
    )
    assert provider_action(button) is expected


def test_a_button_without_an_action_offers_nothing() -> None:
    assert provider_action(ProviderButton(custom_id="MJ::JOB::pan_left::1::h::SOLO")) is None


def test_offered_actions_keep_display_order_and_drop_unknown() -> None:
    buttons = [
        ProviderButton(custom_id="a", action=Action.PAN_LEFT),
        ProviderButton(custom_id="b"),
        ProviderButton(custom_id="c", action=Action.UPSCALE_SUBTLE),
        ProviderButton(custom_id="d", action=Action.PAN_LEFT),
    ]
    assert offered_actions(buttons) == [Action.UPSCALE_SUBTLE, Action.PAN_LEFT]
