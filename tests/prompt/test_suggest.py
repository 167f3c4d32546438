"""``suggest``: whole-text completions for the /imagine autocomplete."""

from __future__ import annotations

import pytest

from bot.prompt import suggest


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cat --st", ["cat --style", "cat --stylize", "cat --stop"]),
        ("cat --stylize", ["cat --stylize"]),
        ("cat --as", ["cat --aspect"]),
        ("cat —ch", ["cat —chaos"]),
        ("cat --ar ", ["cat --ar 1:1", "cat --ar 16:9", "cat --ar 9:16", "cat --ar 2:3"]),
        ("cat --ar 1", ["cat --ar 1:1", "cat --ar 16:9"]),
        ("cat --aspect 9", ["cat --aspect 9:16"]),
        ("cat --v ", ["cat --v 7", "cat --v 6.1", "cat --v 6", "cat --v 5.2"]),
        ("cat --q ", ["cat --q .25", "cat --q .5", "cat --q 1", "cat --q 2"]),
        ("cat --niji ", ["cat --niji 6", "cat --niji 5", "cat --niji 4"]),
        ("cat --style r", ["cat --style raw"]),
    ],
)
def test_completions_start_with(text: str, expected: list[str]) -> None:
    completions = suggest(text)
    assert sorted(completions[: len(expected)]) == sorted(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a cat",
        "cat --raw ",
        "cat --ar 16:9",
        "cat --ar 16:9 ",
        "cat --zzz",
        "cat --seed ",
        "cat --no trees, ",
        "x" * 100 + " --",
        "well-",
    ],
)
def test_nothing_to_complete(text: str) -> None:
    assert suggest(text) == []


def test_bare_dash_offers_every_name_not_yet_written() -> None:
    completions = suggest("cat --ar 16:9 --")
    assert "cat --ar 16:9 --stylize" in completions
    assert "cat --ar 16:9 --ar" not in completions
    assert "cat --ar 16:9 --aspect" not in completions
    assert len(completions) == 25


def test_exact_name_comes_first() -> None:
    assert suggest("cat --s")[0] == "cat --s"


def test_limit_and_length() -> None:
    assert len(suggest("cat --", limit=3)) == 3
    long_text = "y" * 90 + " --"
    assert all(len(choice) <= 100 for choice in suggest(long_text))
    assert suggest(long_text)


def test_custom_options_are_offered() -> None:
    assert suggest("cat --mi", options={"mine": "--ar 3:2"}) == ["cat --mine"]
