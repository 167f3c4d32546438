"""Job buttons: custom ids, layouts for grids and single images, and from_custom_id."""

from __future__ import annotations

import re

import pytest

from bot.model import Action, JobKind, JobState, ProviderButton
from bot.ui.buttons import PRESS_EVENT, TEMPLATE, JobButton, result_view, waiting_view
from tests.ui.jobs import make_job


def layout(view: object) -> list[tuple[str, int | None]]:
    return [(item.custom_id, item.row) for item in view.children]  # type: ignore[attr-defined]


def test_grid_has_nine_action_buttons_and_info() -> None:
    ids = [custom_id for custom_id, _ in layout(result_view(make_job(state=JobState.SUCCEEDED)))]
    assert ids == [
        "job:42:u1",
        "job:42:u2",
        "job:42:u3",
        "job:42:u4",
        "job:42:reroll",
        "job:42:v1",
        "job:42:v2",
        "job:42:v3",
        "job:42:v4",
        "job:42:info",
    ]


def test_draft_grid_offers_enhance() -> None:
    ids = [c for c, _ in layout(result_view(make_job(params={"draft": True})))]
    assert "job:42:enhance" in ids


def test_single_image_shows_only_what_the_provider_offered() -> None:
    job = make_job(kind=JobKind.UPSCALE, action=Action.UPSCALE, action_index=1)
    buttons = (
        ProviderButton(custom_id="a", action=Action.VARY_SUBTLE),
        ProviderButton(custom_id="b", action=Action.ZOOM_OUT_2X),
        ProviderButton(custom_id="c", action=Action.PAN_UP),
        ProviderButton(custom_id="d"),
    )
    assert layout(result_view(job, buttons)) == [
        ("job:42:vary_subtle", 0),
        ("job:42:zoom_out_2x", 0),
        ("job:42:pan_up", 0),
        ("job:42:info", 1),
    ]


def test_single_image_uses_stored_buttons_by_default() -> None:
    job = make_job(
        kind=JobKind.UPSCALE,
        provider_buttons=(ProviderButton(custom_id="h", action=Action.VARY_STRONG),),
    )
    assert [c for c, _ in layout(result_view(job))] == ["job:42:vary_strong", "job:42:info"]


def test_waiting_view_has_cancel() -> None:
    view = waiting_view(make_job())
    assert [c for c, _ in layout(view)] == ["job:42:cancel"]
    assert view.timeout is None


def test_custom_ids_fit_discord_and_match_the_template() -> None:
    job = make_job(id=2**53)
    for custom_id, _ in layout(result_view(job)):
        assert len(custom_id) <= 100
        assert re.fullmatch(TEMPLATE, custom_id)


@pytest.mark.parametrize("custom_id", ["job:7:u3", "job:7:info", "job:7:pan_left"])
async def test_from_custom_id_reads_only_the_id(custom_id: str) -> None:
    match = re.fullmatch(TEMPLATE, custom_id)
    assert match is not None
    button = await JobButton.from_custom_id(None, None, match)  # type: ignore[arg-type]
    assert (button.job_id, f"job:7:{button.token}") == (7, custom_id)


async def test_a_press_becomes_the_bot_event_with_the_id_and_token() -> None:
    dispatched: list[tuple[object, ...]] = []

    class Client:
        def dispatch(self, event: str, /, *args: object) -> None:
            dispatched.append((event, *args))

    class Interaction:
        client = Client()

    match = re.fullmatch(TEMPLATE, "job:7:u3")
    assert match is not None
    button = await JobButton.from_custom_id(None, None, match)  # type: ignore[arg-type]
    interaction = Interaction()
    await button.callback(interaction)  # type: ignore[arg-type]
    assert dispatched == [(PRESS_EVENT, interaction, 7, "u3")]


def test_a_grid_shows_only_the_grid_actions_the_provider_offered() -> None:
    buttons = (
        ProviderButton(custom_id="a", action=Action.UPSCALE, index=1),
        ProviderButton(custom_id="b", action=Action.UPSCALE, index=2),
        ProviderButton(custom_id="c", action=Action.VARIATION, index=1),
    )
    ids = [c for c, _ in layout(result_view(make_job(), buttons))]
    assert ids == ["job:42:u1", "job:42:u2", "job:42:v1", "job:42:info"]


def test_a_grid_record_without_typed_buttons_offers_the_whole_grid() -> None:
    ids = [c for c, _ in layout(result_view(make_job(), (ProviderButton(custom_id="old"),)))]
    assert "job:42:reroll" in ids
    assert "job:42:v4" in ids
