"""Checks of the texts a member or moderator stores (defaults, suffix, options)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.account.checks import check_option, check_saved_defaults, check_suffix
from bot.errors import UserFacingError
from bot.prompt import PromptError


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [("Mine", "--ar 16:9", "mine"), ("--wide", "--ar 21:9 --s 50", "wide")],
)
def test_check_option_accepts(name: str, value: str, expected: str) -> None:
    assert check_option(name, value, options={}) == expected


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("ar", "--ar 16:9", UserFacingError),
        ("q", "--q 2", UserFacingError),
        ("two words", "--s 5", UserFacingError),
        ("1st", "--s 5", UserFacingError),
        ("mine", "--ar 1.5:1", PromptError),
        ("mine", "--stylise 100", PromptError),
    ],
)
def test_check_option_refuses(name: str, value: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        check_option(name, value, options={})


def test_a_suffix_cannot_fix_the_seed_of_every_job() -> None:
    with pytest.raises(UserFacingError, match="A suffix cannot hold --seed"):
        check_suffix("in the style of ink --seed 42", options={})


def test_check_suffix_uses_the_parser() -> None:
    check_suffix("in the style of ink --ar 3:2", options={})
    with pytest.raises(PromptError):
        check_suffix("--chaos 500", options={})


@pytest.mark.parametrize(
    ("check", "hint"),
    [
        (lambda: check_suffix("oil --repeat 3", options={}), "--repeat only works"),
        (lambda: check_suffix("in {oil, ink}", options={}), "{a, b} permutations"),
        (lambda: check_option("mine", "--r 2", options={}), "--repeat only works"),
        (lambda: check_option("mine", "--no {a, b}", options={}), "{a, b} permutations"),
        (lambda: check_saved_defaults("--s 50 --repeat 2"), "--repeat only works"),
        (lambda: check_saved_defaults("--no {a, b}"), "{a, b} permutations"),
    ],
)
def test_expansion_from_saved_texts_is_refused_when_saved(
    check: Callable[[], object], hint: str
) -> None:
    with pytest.raises(PromptError) as caught:
        check()
    assert hint in caught.value.message


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("--fast", "use /fast, /relax or /turbo"),
        ("--ar 2:3 --relax", "use /fast, /relax or /turbo"),
        ("--TURBO", "use /fast, /relax or /turbo"),
        ("--seed 7", "every reroll identical"),
        ("--s 50 --SEED 7", "every reroll identical"),
    ],
)
def test_saved_defaults_refuse_speed_and_seed(text: str, hint: str) -> None:
    with pytest.raises(UserFacingError) as caught:
        check_saved_defaults(text)
    assert hint in caught.value.message


def test_saved_defaults_layer_over_those_below() -> None:
    prompt = check_saved_defaults("--s 50", below=["--seed 3 --fast"])
    assert prompt.params.stylize == 50
