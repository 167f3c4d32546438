"""Issue #11: control characters, unfetchable image URLs and the length limit's own message."""

from __future__ import annotations

import pytest

from bot.jobs.speeds import at_speed
from bot.model import SpeedMode
from bot.prompt import MAX_LENGTH, PromptError, parse_prompt
from bot.prompt import issues as codes


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85"])
def test_control_characters_are_refused_where_they_are(char: str) -> None:
    with pytest.raises(PromptError) as caught:
        parse_prompt(f"a fox{char} in snow")
    assert caught.value.code == codes.CONTROL_CHARACTER
    assert caught.value.issues[0].span == (5, 6)
    assert f"U+{ord(char):04X}" in caught.value.message


def test_a_control_character_in_the_suffix_names_the_suffix() -> None:
    with pytest.raises(PromptError, match="/prefer suffix"):
        parse_prompt("a fox", suffix="snow\x00")


def test_tab_and_newline_are_fine() -> None:
    assert parse_prompt("a fox\tin\nsnow").segments


@pytest.mark.parametrize(
    ("text", "parameter"),
    [
        ("a fox --cref http://127.0.0.1/a.png", "--cref"),
        ("a fox --cref http://169.254.169.254/latest/meta-data", "--cref"),
        ("a fox --sref http://localhost:8080/x.png::2", "--sref"),
        ("a fox --sref https://metadata.google.internal/x.png", "--sref"),
        ("a fox --oref http://[::ffff:127.0.0.1]/a.png", "--oref"),
        ("a fox --cref http://printer.local/a.png", "--cref"),
        ("a fox --cref https://user:pw@images.example.com/a.png", "--cref"),
        ("http://10.0.0.1/a.png a fox", "Image prompts"),
        ("http://[fe80::1]/a.png a fox", "Image prompts"),
    ],
)
def test_image_urls_that_lead_inside_are_refused_naming_the_parameter(
    text: str, parameter: str
) -> None:
    with pytest.raises(PromptError) as caught:
        parse_prompt(text)
    assert caught.value.code == codes.INVALID_URL
    assert caught.value.message.startswith(parameter)


def test_public_image_urls_still_pass() -> None:
    prompt = parse_prompt(
        "https://images.example.com/a.png a fox --cref https://cdn.example.org/c.png"
        " --sref https://cdn.example.org/s.png::2 --v 6"
    )
    assert prompt.image_urls == ["https://images.example.com/a.png"]


def test_a_prompt_at_the_limit_runs_at_any_speed_with_its_seed() -> None:
    # Issue #11: the bot's own --seed and speed pushed the canonical text over the limit, and
    # the member read "Your speed mode is fast, which this prompt cannot use".
    prompt = parse_prompt("a " * (MAX_LENGTH // 2 - 1) + "b")
    for speed in SpeedMode:
        seeded = at_speed(prompt, speed, seed=4_294_967_295)
        assert seeded.params.seed == 4_294_967_295


def test_a_prompt_over_the_limit_says_so() -> None:
    with pytest.raises(PromptError) as caught:
        parse_prompt("a" * (MAX_LENGTH + 1))
    assert caught.value.code == codes.PROMPT_TOO_LONG
    assert "longer than 6000" in caught.value.message


def test_too_long_is_never_reported_as_a_speed_problem() -> None:
    prompt = parse_prompt("a " * (MAX_LENGTH // 2 - 1) + "b")
    # Not NotAllowed ("Your speed mode is turbo, which this prompt cannot use").
    with pytest.raises(PromptError) as caught:
        at_speed(prompt, SpeedMode.TURBO, no=["x" * 2000])
    assert caught.value.code == codes.PROMPT_TOO_LONG


def test_an_operators_allowed_host_passes_in_prompts_and_parameters() -> None:
    # Issue #11: a CDN the fetcher may reach (outbound.allowed_hosts) was still refused here.
    text = (
        "https://cdn.corp.internal/a.png a fox --oref https://cdn.corp.internal/c.png"
        " --sref https://cdn.corp.internal/s.png::2"
    )
    prompt = parse_prompt(text, allowed_hosts=frozenset({"cdn.corp.internal"}))
    assert prompt.image_urls == ["https://cdn.corp.internal/a.png"]
    assert prompt.params.sref == ["https://cdn.corp.internal/s.png::2"]
    with pytest.raises(PromptError) as caught:
        parse_prompt(text)
    assert [issue.code for issue in caught.value.issues] == [codes.INVALID_URL] * 3
    with pytest.raises(PromptError, match=r"other\.internal"):
        parse_prompt(
            "https://other.internal/a.png a fox", allowed_hosts=frozenset({"cdn.corp.internal"})
        )


def test_a_prompt_with_an_allowed_host_survives_the_bots_own_rebuilds() -> None:
    prompt = parse_prompt(
        "https://cdn.corp.internal/a.png a fox", allowed_hosts=frozenset({"cdn.corp.internal"})
    )
    relaxed = at_speed(prompt, SpeedMode.RELAX, seed=7)
    assert relaxed.image_urls == ["https://cdn.corp.internal/a.png"]
    assert relaxed.params.seed == 7
