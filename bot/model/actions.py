"""Follow-up actions on a finished task and the buttons a provider offers for them.

Plain records shared by the providers (which report them), the store (which keeps them in the
job record) and the Discord layer (which shows them); no provider's own names appear here.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Action(StrEnum):
    """Follow-up actions on a finished task (grid buttons and single-image buttons)."""

    UPSCALE = "upscale"
    VARIATION = "variation"
    REROLL = "reroll"
    VARY_SUBTLE = "vary_subtle"
    VARY_STRONG = "vary_strong"
    ZOOM_OUT_2X = "zoom_out_2x"
    ZOOM_OUT_1_5X = "zoom_out_1_5x"
    PAN_LEFT = "pan_left"
    PAN_RIGHT = "pan_right"
    PAN_UP = "pan_up"
    PAN_DOWN = "pan_down"
    UPSCALE_SUBTLE = "upscale_subtle"
    UPSCALE_CREATIVE = "upscale_creative"
    ENHANCE = "enhance"


SINGLE_IMAGE_ACTIONS: tuple[Action, ...] = (
    Action.UPSCALE_SUBTLE,
    Action.UPSCALE_CREATIVE,
    Action.VARY_SUBTLE,
    Action.VARY_STRONG,
    Action.ZOOM_OUT_2X,
    Action.ZOOM_OUT_1_5X,
    Action.PAN_LEFT,
    Action.PAN_RIGHT,
    Action.PAN_UP,
    Action.PAN_DOWN,
)
"""The actions on a single (upscaled) image, in the order buttons show them."""


class ProviderButton(BaseModel):
    """A button the provider offers on a finished task, with the bot action it stands for.

    ``custom_id`` is the provider's own reference (it stays in the job record); ``action``
    and ``index`` are what the Discord layer shows, so it needs no provider's vocabulary.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    custom_id: str
    action: Action | None = None
    """The bot action this button performs; None for a button the bot does not offer."""
    index: int = 0
    """1 to 4 for grid actions (U1..U4, V1..V4); 0 otherwise."""
    label: str = ""
    emoji: str = ""
    style: int = 2
    type: int = 2
