"""A Previous/Next paginator for lists that are read page by page from a service."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import discord

from bot.ui.errors import report_error, send_error
from bot.ui.text import NO_MENTIONS


@dataclass(frozen=True)
class Page:
    """One rendered page, and whether another one follows it."""

    embed: discord.Embed
    has_next: bool


PageLoader = Callable[[int], Awaitable[Page]]
"""Loads page ``n`` (0-based) fresh from the service, so every turn shows current data."""


class OwnedView(discord.ui.View):
    """A view only its owner may use; greyed out when it stops listening; errors reported."""

    not_yours = "Only the person who opened this can use these controls."
    timeout_content: str | None = None
    """The message's new text once the view stops listening (None: the text stays)."""

    def __init__(self, *, owner_id: int, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self._interaction: discord.Interaction[Any] | None = None
        self._message: discord.WebhookMessage | None = None

    async def show(
        self, interaction: discord.Interaction[Any], embed: discord.Embed, *, ephemeral: bool = True
    ) -> None:
        """Answer ``interaction`` with ``embed`` and this view, remembered for the timeout."""
        self._interaction = interaction
        await interaction.response.send_message(
            embed=embed, view=self, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS
        )

    async def show_followup(self, interaction: discord.Interaction[Any], content: str) -> None:
        """Send ``content`` with this view to a deferred ``interaction``, privately."""
        self._message = await interaction.followup.send(
            content, view=self, ephemeral=True, wait=True, allowed_mentions=NO_MENTIONS
        )

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        """Refuse presses from anyone but the owner, telling them why."""
        if interaction.user.id == self.owner_id:
            return True
        await send_error(interaction, self.not_yours)
        return False

    async def on_timeout(self) -> None:
        """Grey the controls out once the view stops listening."""
        for item in self.children:
            if isinstance(item, discord.ui.Button | discord.ui.Select):
                item.disabled = True
        changes: dict[str, Any] = {"view": self}
        if self.timeout_content is not None:
            changes["content"] = self.timeout_content
        # The message may be gone or the token expired; either way nothing is left to do.
        with contextlib.suppress(discord.HTTPException):
            if self._message is not None:
                await self._message.edit(**changes)
            elif self._interaction is not None:
                await self._interaction.edit_original_response(**changes)

    async def on_error(
        self,
        interaction: discord.Interaction[Any],
        error: Exception,
        item: discord.ui.Item[Any],
        /,
    ) -> None:
        """A refused or failed press is reported like any command error."""
        await report_error(interaction, error)


class Paginator(OwnedView):
    """Previous/Next buttons over a ``PageLoader``; only the view's owner may press them."""

    not_yours = "Only the person who opened this list can turn its pages."

    def __init__(self, *, owner_id: int, load: PageLoader, timeout: float = 300.0) -> None:
        super().__init__(owner_id=owner_id, timeout=timeout)
        self.page = 0
        self._load = load

    async def send(self, interaction: discord.Interaction[Any], *, ephemeral: bool = True) -> None:
        """Answer ``interaction`` with the first page, and these buttons if more pages follow."""
        first = await self._load(0)
        self._sync_buttons(first)
        if first.has_next:
            await self.show(interaction, first.embed, ephemeral=ephemeral)
            return
        # A single page needs no buttons, and no view kept alive for it.
        self.stop()
        await interaction.response.send_message(
            embed=first.embed, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS
        )

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary, emoji="◀️")
    async def previous(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Paginator]
    ) -> None:
        """Show the page before this one."""
        await self._turn(interaction, self.page - 1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary, emoji="▶️")
    async def next(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Paginator]
    ) -> None:
        """Show the page after this one."""
        await self._turn(interaction, self.page + 1)

    async def _turn(self, interaction: discord.Interaction[Any], page: int) -> None:
        loaded = await self._load(max(page, 0))
        self.page = max(page, 0)
        self._sync_buttons(loaded)
        await interaction.response.edit_message(
            embed=loaded.embed, view=self, allowed_mentions=NO_MENTIONS
        )

    def _sync_buttons(self, page: Page) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = not page.has_next


def fit_lines(lines: Sequence[str], limit: int = 1024) -> str:
    """Join whole lines up to ``limit`` characters (an embed field's), saying how many were left."""
    whole = "\n".join(lines)
    if len(whole) <= limit:
        return whole
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        if size + len(line) + 1 + len(f"… and {len(lines) - index} more") > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join([*kept, f"… and {len(lines) - len(kept)} more"])
