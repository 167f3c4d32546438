"""``expand_prompt``: permutations and --repeat, counted before they are built."""

from __future__ import annotations

import pytest

from bot.prompt import PromptError, expand_prompt


@pytest.mark.parametrize(
    ("text", "jobs"),
    [
        ("a cat", ["a cat"]),
        ("a {red, green} bird", ["a red bird", "a green bird"]),
        ("{a,b} {c,d}", ["a c", "a d", "b c", "b d"]),
        ("a {b, {c, d}} e", ["a b e", "a c e", "a d e"]),
        ("bird --ar {16:9, 1:1}", ["bird --ar 16:9", "bird --ar 1:1"]),
        ("cat::{1,2} dog", ["cat::1 dog", "cat::2 dog"]),
        ("a {x\\, y, z}", ["a x, y", "a z"]),
        ("red\\, green", ["red, green"]),
        ("a, b", ["a, b"]),
        ("{only}", ["only"]),
        ("an { open brace", ["an { open brace"]),
        ("a } close", ["a } close"]),
        ("{a, b", ["{a, b"]),
        ("a \\{b, c\\}", ["a {b, c}"]),
        ("cat --repeat 3", ["cat", "cat", "cat"]),
        ("cat --r 2 --ar 2:3", ["cat --ar 2:3", "cat --ar 2:3"]),
        ("{a, b} --r 2", ["a", "a", "b", "b"]),
        ("{a --r 2, b}", ["a", "a", "b"]),
    ],
)
def test_expansion(text: str, jobs: list[str]) -> None:
    assert expand_prompt(text) == jobs


@pytest.mark.parametrize(
    ("text", "max_jobs", "code"),
    [
        ("{a,b}" * 30, 40, "too_many_jobs"),
        ("{a,b,c,d,e,f} {a,b,c,d,e,f} {a,b}", 40, "too_many_jobs"),
        ("{" + ",".join(str(n) for n in range(41)) + "}", 40, "too_many_jobs"),
        ("{a,b} --r 3", 5, "too_many_jobs"),
        ("cat --r 40", 40, None),
        ("cat --r 41", 40, "out_of_range"),
        ("cat --r 1", 40, "out_of_range"),
        ("cat --r", 40, "missing_value"),
        ("cat --r many", 40, "invalid_value"),
        ("cat --r 2 --repeat 3", 40, "duplicate_parameter"),
        ("x" * 6001, 40, "prompt_too_long"),
    ],
)
def test_expansion_limits(text: str, max_jobs: int, code: str | None) -> None:
    if code is None:
        assert len(expand_prompt(text, max_jobs=max_jobs)) == max_jobs
        return
    with pytest.raises(PromptError) as caught:
        expand_prompt(text, max_jobs=max_jobs)
    assert caught.value.code == code


def test_exactly_max_jobs_is_allowed() -> None:
    assert len(expand_prompt("{a,b} {c,d} {e,f} --r 5")) == 40


@pytest.mark.parametrize("text", ["{" * 1000, "}" * 1000, "{" * 1000 + "}" * 1000, "{,}" * 2000])
def test_adversarial_braces_never_raise_anything_else(text: str) -> None:
    jobs: list[str] | str
    try:
        jobs = expand_prompt(text)
    except PromptError as error:
        jobs = error.code
    assert jobs == "too_many_jobs" or len(jobs) == 1
