"""Job buttons: ``DynamicItem`` buttons whose ``custom_id`` is ``job:<id>:<action>``.

Nothing about a job is kept in memory: a press parses the id and the action from the
``custom_id`` and reads the job from the database, so buttons keep working across restarts for
as long as the job's record exists. This module only renders them: a press becomes the bot
event ``PRESS_EVENT``, which the cog that registers the buttons handles (``cogs.imagine``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Self

import discord

from bot.model import Action, JobKind, ProviderButton
from bot.ui.actions import (
    CANCEL,
    GRID_INDEXES,
    INFO,
    action_token,
    offered_actions,
)

if TYPE_CHECKING:
    from bot.model import Job

TEMPLATE = r"job:(?P<id>[0-9]+):(?P<action>[a-z0-9_]+)"
SINGLE_IMAGE_KINDS = frozenset({JobKind.UPSCALE, JobKind.UPSCALE_SUBTLE, JobKind.UPSCALE_CREATIVE})

_LABELS: dict[Action, tuple[str, str | None]] = {
    Action.REROLL: ("", "\N{ANTICLOCKWISE DOWNWARDS AND UPWARDS OPEN CIRCLE ARROWS}"),
    Action.UPSCALE_SUBTLE: ("Upscale (Subtle)", None),
    Action.UPSCALE_CREATIVE: ("Upscale (Creative)", None),
    Action.VARY_SUBTLE: ("Vary (Subtle)", None),
    Action.VARY_STRONG: ("Vary (Strong)", None),
    Action.ZOOM_OUT_2X: ("Zoom Out 2x", None),
    Action.ZOOM_OUT_1_5X: ("Zoom Out 1.5x", None),
    Action.PAN_LEFT: ("", "\N{LEFTWARDS BLACK ARROW}"),
    Action.PAN_RIGHT: ("", "\N{BLACK RIGHTWARDS ARROW}"),
    Action.PAN_UP: ("", "\N{UPWARDS BLACK ARROW}"),
    Action.PAN_DOWN: ("", "\N{DOWNWARDS BLACK ARROW}"),
    Action.ENHANCE: ("Enhance", None),
}


PRESS_EVENT = "job_button_press"
"""The bot event a press becomes, with (interaction, job id, action token): a cog listens for
it as ``on_job_button_press``."""


class JobButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=TEMPLATE,
):
    """One job button; a press is handed to the cog listening for ``PRESS_EVENT``."""

    def __init__(
        self,
        job_id: int,
        token: str,
        *,
        label: str | None = None,
        emoji: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        row: int | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or None,
                emoji=emoji,
                style=style,
                custom_id=f"job:{job_id}:{token}",
            ),
            row=row,
        )
        self.job_id = job_id
        self.token = token

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        """Rebuild the button from its ``custom_id`` alone."""
        return cls(int(match["id"]), match["action"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the press to the cog: the job is read from the database there, not before."""
        # discord.py registers the class of every rendered DynamicItem as the handler of its
        # template, so the press is routed by event rather than by a subclass of the cog's.
        interaction.client.dispatch(PRESS_EVENT, interaction, self.job_id, self.token)


def _action_button(
    job_id: int, action: Action, index: int = 0, row: int | None = None
) -> JobButton:
    label, emoji = _LABELS.get(action, (action.value, None))
    if action is Action.UPSCALE:
        label = f"U{index}"
    elif action is Action.VARIATION:
        label = f"V{index}"
    style = (
        discord.ButtonStyle.primary if action is Action.REROLL else discord.ButtonStyle.secondary
    )
    return JobButton(
        job_id, action_token(action, index), label=label, emoji=emoji, style=style, row=row
    )


def _info_button(job_id: int, row: int | None = None) -> JobButton:
    return JobButton(job_id, INFO, label="Info", emoji="\N{INFORMATION SOURCE}", row=row)


def _view(items: list[JobButton]) -> discord.ui.View:
    # timeout=None: these buttons must keep working for as long as the job record exists.
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    return view


def grid_buttons(job: Job, provider_buttons: tuple[ProviderButton, ...] = ()) -> list[JobButton]:
    """U1-U4 and reroll, V1-V4 (those the provider offers), then Enhance (drafts) and Info."""
    offered = {(button.action, button.index) for button in provider_buttons if button.action}

    def has(action: Action, index: int = 0) -> bool:
        # A record from before buttons carried their action offers the whole grid.
        return not offered or (action, index) in offered

    items = [
        _action_button(job.id, Action.UPSCALE, i, row=0)
        for i in GRID_INDEXES
        if has(Action.UPSCALE, i)
    ]
    if has(Action.REROLL):
        items.append(_action_button(job.id, Action.REROLL, row=0))
    items += [
        _action_button(job.id, Action.VARIATION, i, row=1)
        for i in GRID_INDEXES
        if has(Action.VARIATION, i)
    ]
    if job.params.get("draft"):
        items.append(_action_button(job.id, Action.ENHANCE, row=2))
    items.append(_info_button(job.id, row=2))
    return items


def single_image_buttons(job: Job, provider_buttons: tuple[ProviderButton, ...]) -> list[JobButton]:
    """The single-image actions the provider offered, five to a row, then Info."""
    items = [
        _action_button(job.id, action, row=position // 5)
        for position, action in enumerate(offered_actions(provider_buttons))
    ]
    items.append(_info_button(job.id, row=len(items) // 5 + (1 if len(items) % 5 else 0)))
    return items


def result_view(
    job: Job, provider_buttons: tuple[ProviderButton, ...] | None = None
) -> discord.ui.View:
    """The buttons under a result: grid buttons, or the provider's single-image actions."""
    buttons = job.provider_buttons if provider_buttons is None else provider_buttons
    if job.kind in SINGLE_IMAGE_KINDS:
        return _view(single_image_buttons(job, buttons))
    return _view(grid_buttons(job, buttons))


def waiting_view(job: Job) -> discord.ui.View:
    """The Cancel button shown while the job waits or runs."""
    return _view([JobButton(job.id, CANCEL, label="Cancel", style=discord.ButtonStyle.danger)])
