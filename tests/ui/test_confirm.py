"""ConfirmView: the owner's answer, and greyed-out buttons with a note when nobody answers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.ui.confirm import ConfirmView, confirm_question
from bot.ui.pagination import OwnedView


@dataclass
class SentMessage:
    """The followup message the question went out as; records its edits."""

    content: str
    options: dict[str, Any]
    edits: list[dict[str, Any]] = field(default_factory=list)

    async def edit(self, **changes: Any) -> None:
        self.edits.append(changes)


@dataclass
class Followup:
    sent: list[SentMessage] = field(default_factory=list)

    async def send(self, content: str, **options: Any) -> SentMessage:
        self.sent.append(SentMessage(content, options))
        return self.sent[-1]


@dataclass
class DeferredInteraction:
    followup: Followup = field(default_factory=Followup)


def buttons(view: discord.ui.View) -> list[discord.ui.Button[Any]]:
    return [item for item in view.children if isinstance(item, discord.ui.Button)]


async def test_unanswered_question_greys_out_and_says_nothing_was_queued() -> None:
    view = ConfirmView(owner_id=7)
    interaction: Any = DeferredInteraction()
    asked = asyncio.create_task(view.ask(interaction, confirm_question(12, "12 credits")))
    await asyncio.sleep(0)  # let the question go out
    [message] = interaction.followup.sent
    assert message.options["ephemeral"] is True
    assert message.options["view"] is view
    await view.on_timeout()
    view.stop()  # what discord.py does after on_timeout
    assert await asked is False
    [edit] = message.edits
    assert edit["content"] == "No answer in time: nothing was queued or charged."
    assert edit["view"] is view
    assert [button.disabled for button in buttons(view)] == [True, True]


def test_confirm_view_is_an_owned_view() -> None:
    view = ConfirmView(owner_id=7)
    assert isinstance(view, OwnedView)
    assert view.owner_id == 7
    assert [button.label for button in buttons(view)] == ["Queue them", "Never mind"]
