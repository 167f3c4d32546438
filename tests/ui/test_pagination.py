from __future__ import annotations

import discord
import pytest

from bot.ui.pagination import Page, Paginator, fit_lines


@pytest.mark.parametrize(
    ("lines", "limit", "expected"),
    [
        ([], 1024, ""),
        (["a", "b"], 1024, "a\nb"),
        (["x" * 10, "y" * 10, "z" * 10], 40, "x" * 10 + "\n" + "y" * 10 + "\n" + "z" * 10),
        (["x" * 10, "y" * 10, "z" * 10], 30, "x" * 10 + "\n… and 2 more"),
        (["x" * 10, "y" * 10], 21, "x" * 10 + "\n" + "y" * 10),
        (["x" * 10, "y" * 10], 60, "x" * 10 + "\n" + "y" * 10),
        (["x" * 50], 20, "… and 1 more"),
    ],
)
def test_fit_lines(lines: list[str], limit: int, expected: str) -> None:
    assert fit_lines(lines, limit) == expected
    assert len(fit_lines(lines, limit)) <= limit


def test_fit_lines_never_cuts_a_line() -> None:
    lines = [f"line {number} " + "w" * number for number in range(200)]
    text = fit_lines(lines)
    assert len(text) <= 1024
    kept = text.split("\n")[:-1]
    assert kept == lines[: len(kept)]


async def test_buttons_follow_the_page_and_grey_out_on_timeout() -> None:
    loaded: list[int] = []

    async def load(page: int) -> Page:
        loaded.append(page)
        return Page(embed=discord.Embed(title=str(page)), has_next=page < 2)

    view = Paginator(owner_id=1, load=load)
    view._sync_buttons(await load(0))
    assert (view.previous.disabled, view.next.disabled) == (True, False)
    view.page = 2
    view._sync_buttons(await load(2))
    assert (view.previous.disabled, view.next.disabled) == (False, True)
    await view.on_timeout()
    assert all(item.disabled for item in view.children if isinstance(item, discord.ui.Button))
    assert loaded == [0, 2]
