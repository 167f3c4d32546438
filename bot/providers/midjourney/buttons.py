"""Provider button ``customId`` shapes and the bot's actions they stand for.

A grid offers ``MJ::JOB::upsample::N::<hash>``, ``MJ::JOB::variation::N::<hash>`` and
``MJ::JOB::reroll::0::<hash>::SOLO``; a single image offers the SOLO actions (vary, zoom out,
pan, upscale subtle/creative). ``classify_button`` lets the Discord layer show only the
actions the provider offered; ``find_button`` picks the button an action request needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.model import Action, ProviderButton

_SHAPES: tuple[tuple[Action, re.Pattern[str]], ...] = (
    (Action.UPSCALE, re.compile(r"^MJ::JOB::upsample::(\d)::")),
    (Action.VARIATION, re.compile(r"^MJ::JOB::variation::(\d)::")),
    (Action.REROLL, re.compile(r"^MJ::JOB::reroll::(\d)::")),
    (Action.VARY_SUBTLE, re.compile(r"^MJ::JOB::low_variation::(\d)::")),
    (Action.VARY_STRONG, re.compile(r"^MJ::JOB::high_variation::(\d)::")),
    (Action.ZOOM_OUT_2X, re.compile(r"^MJ::Outpaint::50::(\d)::")),
    (Action.ZOOM_OUT_1_5X, re.compile(r"^MJ::Outpaint::75::(\d)::")),
    (Action.PAN_LEFT, re.compile(r"^MJ::JOB::pan_left::(\d)::")),
    (Action.PAN_RIGHT, re.compile(r"^MJ::JOB::pan_right::(\d)::")),
    (Action.PAN_UP, re.compile(r"^MJ::JOB::pan_up::(\d)::")),
    (Action.PAN_DOWN, re.compile(r"^MJ::JOB::pan_down::(\d)::")),
    (Action.UPSCALE_SUBTLE, re.compile(r"^MJ::JOB::upsample_v\d+_2x_subtle::(\d)::")),
    (Action.UPSCALE_CREATIVE, re.compile(r"^MJ::JOB::upsample_v\d+_2x_creative::(\d)::")),
    (Action.ENHANCE, re.compile(r"^MJ::JOB::(?:draft_)?enhance\w*::(\d)::", re.IGNORECASE)),
)
GRID_ACTIONS = frozenset({Action.UPSCALE, Action.VARIATION, Action.REROLL})
"""Actions on a grid that ``/submit/change`` can also perform."""
INDEXED_ACTIONS = frozenset({Action.UPSCALE, Action.VARIATION})
"""Actions that name one of the grid's four images."""


def classify_custom_id(custom_id: str) -> tuple[Action, int] | None:
    """The action and index a provider ``customId`` stands for; None for unknown shapes."""
    for action, pattern in _SHAPES:
        if match := pattern.match(custom_id):
            index = int(match.group(1)) if action in INDEXED_ACTIONS else 0
            return action, index
    return None


def classify_button(button: ProviderButton) -> tuple[Action, int] | None:
    """The action and index a provider button stands for; None for unknown shapes."""
    return classify_custom_id(button.custom_id)


def find_button(
    buttons: Iterable[ProviderButton], action: Action, index: int
) -> ProviderButton | None:
    """The parent's button that performs ``action`` (at ``index`` for U and V)."""
    for button in buttons:
        if (found := classify_button(button)) is None:
            continue
        found_action, found_index = found
        if found_action is action and (action not in INDEXED_ACTIONS or found_index == index):
            return button
    return None
