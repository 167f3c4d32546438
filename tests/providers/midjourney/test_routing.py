"""Speed routing, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from bot.errors import ConfigError
from bot.model import SpeedMode
from bot.providers.midjourney.routing import SpeedRouter
from bot.settings import ProviderSettings


def router(**settings: Any) -> SpeedRouter:
    return SpeedRouter(ProviderSettings(base_url="https://host/api/mj/", **settings))


@pytest.mark.parametrize(
    ("routing", "speed", "url", "extras", "prompt"),
    [
        ("path", SpeedMode.FAST, "https://host/api/mj-fast/mj", {}, "p"),
        ("path", SpeedMode.TURBO, "https://host/api/mj-turbo/mj", {}, "p"),
        ("path", SpeedMode.RELAX, "https://host/api/mj-fast/mj", {}, "p"),
        (
            "account_filter",
            SpeedMode.TURBO,
            "https://host/api/mj",
            {"accountFilter": {"modes": ["TURBO"]}},
            "p",
        ),
        ("prompt", SpeedMode.TURBO, "https://host/api/mj", {}, "p --turbo"),
        ("prompt", SpeedMode.FAST, "https://host/api/mj", {}, "p --fast"),
    ],
)
def test_routing(
    routing: str, speed: SpeedMode, url: str, extras: dict[str, Any], prompt: str
) -> None:
    speed_router = router(speed_routing=routing)
    assert speed_router.base_url(speed) == url
    assert speed_router.body_extras(speed) == extras
    assert speed_router.prompt("p", speed) == prompt


@pytest.mark.parametrize(
    ("routing", "text", "speed", "sent"),
    [
        ("prompt", "p --turbo", SpeedMode.TURBO, "p --turbo"),
        ("prompt", "--fast p", SpeedMode.FAST, "p --fast"),
        # The bot schedules relax itself; the provider is asked for relax_upstream (fast).
        ("prompt", "p --relax --seed 3", SpeedMode.RELAX, "p --seed 3 --fast"),
        ("path", "p --relax --seed 3", SpeedMode.RELAX, "p --seed 3 --fast"),
        ("account_filter", "p --turbo", SpeedMode.TURBO, "p --turbo"),
        ("path", "p --seed 3", SpeedMode.TURBO, "p --seed 3"),
    ],
)
def test_a_written_speed_flag_says_what_the_provider_is_asked_for(
    routing: str, text: str, speed: SpeedMode, sent: str
) -> None:
    assert router(speed_routing=routing).prompt(text, speed) == sent


def test_relax_upstream_relax() -> None:
    speed_router = router(speed_routing="account_filter", relax_upstream="relax")
    assert speed_router.body_extras(SpeedMode.RELAX) == {"accountFilter": {"modes": ["RELAX"]}}


def test_path_routing_needs_an_mj_base_url() -> None:
    with pytest.raises(ConfigError, match="base_url"):
        SpeedRouter(ProviderSettings(base_url="https://host/v1", speed_routing="path"))
