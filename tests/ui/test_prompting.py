"""Building job prompts from typed text, and the error message for a bad prompt."""

from __future__ import annotations

import pytest

from bot.prompt import PromptError
from bot.ui.prompting import build_prompts, code_span, describe_prompt_error


def test_one_prompt_with_layers() -> None:
    [prompt] = build_prompts(
        "a fox", defaults=["--s 250", "--ar 16:9"], suffix="--q 2", default_version="6.1"
    )
    assert prompt.params.quality == 2
    assert prompt.params.version == "6.1"
    assert "--ar 16:9" in prompt.to_prompt()


def test_permutations_and_repeat_make_one_prompt_per_job() -> None:
    prompts = build_prompts("a {red, blue} fox --repeat 2")
    assert len(prompts) == 4
    texts = sorted(p.to_prompt() for p in prompts)
    assert texts[0].startswith("a blue fox")
    assert texts[-1].startswith("a red fox")


def test_custom_options_expand() -> None:
    [prompt] = build_prompts("a fox --wide", options={"wide": "--ar 21:9"})
    assert "--ar 7:3" in prompt.to_prompt()


def test_too_many_jobs_is_refused_before_building_them() -> None:
    with pytest.raises(PromptError) as caught:
        build_prompts("{a,b} " * 30)
    assert caught.value.code == "too_many_jobs"


def test_every_issue_is_listed_with_its_span_quoted() -> None:
    text = "a fox --ar 1.39:1 --stylze 3"
    with pytest.raises(PromptError) as caught:
        build_prompts(text)
    message = describe_prompt_error(text, caught.value)
    lines = message.splitlines()
    assert lines[0] == "Your prompt has a problem:"
    assert lines[1].startswith("- `--ar 1.39:1`: ")
    assert "139:100" in lines[1]
    assert lines[2].startswith("- `--stylze 3`: ")
    assert "--stylize" in lines[2]


def test_issues_from_a_permutation_are_anchored_in_the_typed_text() -> None:
    text = "a {red, blue} fox --chaos 500"
    with pytest.raises(PromptError) as caught:
        build_prompts(text)
    assert len(caught.value.issues) == 1  # the same issue in both jobs, reported once
    assert "`--chaos 500`" in describe_prompt_error(text, caught.value)


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ("--ar 1:1", "`--ar 1:1`"),
        ("a `tick` <@1>", "`a ʹtickʹ <@1>`"),
        ("line\nbreak", "`line break`"),
        ("x" * 100, "`" + "x" * 59 + "…`"),
    ],
)
def test_code_span_is_inert(part: str, expected: str) -> None:
    assert code_span(part) == expected


def test_long_lists_are_cut() -> None:
    text = " ".join(f"--bogus{i}" for i in range(15))
    with pytest.raises(PromptError) as caught:
        build_prompts("a fox " + text)
    message = describe_prompt_error("a fox " + text, caught.value)
    assert message.splitlines()[-1] == "- ...and 5 more."
