"""What a job button does: the short action token in a ``custom_id`` and its meaning.

A button's ``custom_id`` is ``job:<id>:<token>``; the token is one of ``u1``-``u4``,
``v1``-``v4``, ``reroll``, a single-image ``Action`` value, ``info`` or ``cancel``. The
provider's own button ids (about 60 characters, ``MJ::JOB::upsample::1::<hash>``) stay in the
job record; only this short reference travels through Discord.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.model import SINGLE_IMAGE_ACTIONS, Action, ProviderButton

INFO = "info"
CANCEL = "cancel"
GRID_INDEXES = (1, 2, 3, 4)


@dataclass(frozen=True, slots=True)
class ButtonAction:
    """A decoded action token: a job action with its grid index, or info/cancel."""

    token: str
    action: Action | None
    index: int = 0


def action_token(action: Action, index: int = 0) -> str:
    """The short token for an action (``u2`` for upscale 2, ``reroll``, ``pan_left``)."""
    if action is Action.UPSCALE:
        return f"u{index}"
    if action is Action.VARIATION:
        return f"v{index}"
    return action.value


def parse_token(token: str) -> ButtonAction | None:
    """Decode a token from a ``custom_id``; None for anything this version does not know."""
    if token in (INFO, CANCEL):
        return ButtonAction(token, None)
    grid = re.fullmatch(r"([uv])([1-4])", token)
    if grid:
        action = Action.UPSCALE if grid.group(1) == "u" else Action.VARIATION
        return ButtonAction(token, action, int(grid.group(2)))
    try:
        action = Action(token)
    except ValueError:
        return None
    if action in (Action.UPSCALE, Action.VARIATION):
        return None
    return ButtonAction(token, action)


def provider_action(button: ProviderButton) -> Action | None:
    """The single-image action a provider button stands for, or None (grid or unknown)."""
    return button.action if button.action in SINGLE_IMAGE_ACTIONS else None


def offered_actions(buttons: Iterable[ProviderButton]) -> list[Action]:
    """The single-image actions the provider offered, in the bot's display order."""
    offered = {provider_action(button) for button in buttons}
    return [action for action in SINGLE_IMAGE_ACTIONS if action in offered]
