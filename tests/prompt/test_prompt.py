"""The ``Prompt`` model: canonical text, weights, and changing parameters."""

from __future__ import annotations

from typing import Any

import pytest

from bot.model import SpeedMode
from bot.prompt import Prompt, PromptError, Segment, parse_prompt, with_params, without_params

URL = "https://images.example/a.png"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("cat", "cat"),
        ("  a   cat  ", "a   cat"),
        ("cat::1", "cat"),
        ("cat::2", "cat::2"),
        ("cat:: dog", "cat::1 dog::1"),
        ("cat::2.50 dog::.5", "cat::2.5 dog::0.5"),
        (f"{URL} cat", f"{URL} cat"),
        (
            "cat --exp 5 --ow 9 --oref https://o.example/o.png --sw 5 --sref 12::1.50 --iw .5 "
            "--stop 50 --seed 7 --no a ,b --tile --raw --v 7 --fast --weird 5 --c 5 --s 5 "
            "--q .5 --aspect 4:2",
            "cat --ar 2:1 --q 0.5 --s 5 --c 5 --w 5 --fast --v 7 --raw --tile --no a, b "
            "--seed 7 --stop 50 --iw 0.5 --sref 12::1.5 --sw 5 --oref https://o.example/o.png "
            "--ow 9 --exp 5",
        ),
        ("cat --style raw", "cat --raw"),
        ("cat --niji --style cute", "cat --niji 6 --style cute"),
        ("cat --exp", "cat --exp"),
        ("cat --version 6.0", "cat --v 6"),
        ("cat --repeat 3", "cat --repeat 3"),
    ],
)
def test_canonical_text(text: str, canonical: str) -> None:
    prompt = parse_prompt(text)
    assert prompt.to_prompt() == canonical
    assert parse_prompt(prompt.to_prompt()) == prompt


def test_canonical_text_of_character_reference() -> None:
    prompt = parse_prompt("cat --cw 5 --cref https://c.example/c.png --niji")
    assert prompt.to_prompt() == "cat --niji 6 --cref https://c.example/c.png --cw 5"


def test_weighted_terms_append_no_items() -> None:
    prompt = parse_prompt("castle::2 moat --no people, cars")
    assert prompt.weighted_terms() == [
        Segment(text="castle", weight=2),
        Segment(text="moat", weight=1),
        Segment(text="people", weight=-0.5),
        Segment(text="cars", weight=-0.5),
    ]
    assert prompt.normalized_weights() == pytest.approx([2 / 3, 1 / 3])


def test_prompt_is_frozen_and_compared_by_value() -> None:
    first, second = parse_prompt("cat --ar 3:1"), parse_prompt("cat   --aspect  6:2")
    assert first == second
    assert hash(first) == hash(second)
    assert first.warnings[0].span != second.warnings[0].span
    assert first != parse_prompt("cat --ar 3:2")
    with pytest.raises(ValueError, match="frozen"):
        first.image_urls = []  # type: ignore[misc]


class TestWithParams:
    def test_seed_is_written_and_explicit(self) -> None:
        prompt = with_params(parse_prompt("cat --ar 3:2"), seed=1234)
        assert prompt.params.seed == 1234
        assert "seed" in prompt.explicit
        assert prompt.to_prompt() == "cat --ar 3:2 --seed 1234"

    @pytest.mark.parametrize(("field", "text"), [("seed", "cat --seed 0"), ("chaos", "cat --c 0")])
    def test_zero_is_a_value(self, field: str, text: str) -> None:
        assert with_params(parse_prompt("cat"), **{field: 0}).to_prompt() == text

    def test_flags_set_and_cleared(self) -> None:
        prompt = with_params(parse_prompt("cat --tile"), tile=False, raw=True)
        assert (prompt.params.tile, prompt.params.raw, prompt.to_prompt()) == (
            False,
            True,
            "cat --raw",
        )

    def test_new_seed_replaces_old(self) -> None:
        prompt = with_params(parse_prompt("cat --seed 1"), seed=2)
        assert prompt.to_prompt() == "cat --seed 2"

    def test_speed_replaces_the_flag(self) -> None:
        prompt = with_params(parse_prompt("cat --fast"), speed=SpeedMode.RELAX)
        assert prompt.params.speed == "relax"
        assert prompt.explicit == {"relax"}

    def test_niji_replaces_version(self) -> None:
        prompt = with_params(parse_prompt("cat --v 6"), niji=5)
        assert (prompt.params.version, prompt.params.niji) == (None, 5)
        assert prompt.to_prompt() == "cat --niji 5"

    def test_changes_are_validated(self) -> None:
        with pytest.raises(PromptError) as caught:
            with_params(parse_prompt("cat"), stylize=5000)
        assert caught.value.code == "out_of_range"

    def test_unknown_field(self) -> None:
        with pytest.raises(PromptError) as caught:
            with_params(parse_prompt("cat"), colour="red")
        assert caught.value.code == "unknown_parameter"

    def test_style_raw_is_the_raw_flag(self) -> None:
        assert with_params(parse_prompt("cat"), style="raw").to_prompt() == "cat --raw"

    def test_image_prompts_and_weights_are_kept(self) -> None:
        prompt = parse_prompt(f"{URL} cat::2 dog")
        assert with_params(prompt, chaos=5).to_prompt() == f"{URL} cat::2 dog::1 --c 5"


class TestWithoutParams:
    def test_back_to_default(self) -> None:
        prompt = without_params(parse_prompt("cat --seed 5 --s 50"), "seed")
        assert (prompt.params.seed, prompt.explicit) == (None, frozenset({"stylize"}))

    def test_speed_flags(self) -> None:
        prompt = without_params(parse_prompt("cat --turbo"), "speed")
        assert (prompt.params.speed, prompt.to_prompt()) == (None, "cat")

    def test_niji_back_to_default_version(self) -> None:
        prompt = without_params(parse_prompt("cat --niji 5"), "niji")
        assert (prompt.params.version, prompt.params.niji) == ("7", None)

    def test_dependants_must_go_too(self) -> None:
        with pytest.raises(PromptError) as caught:
            without_params(parse_prompt("cat --sref 1 --sw 5"), "sref")
        assert caught.value.code == "incompatible"


def test_prompt_defaults_are_empty() -> None:
    assert Prompt().to_prompt() == ""


@pytest.mark.parametrize(
    "text",
    [
        "https://a.test/x.png a fox :: a hen::2 --no dogs --sref https://a.test/s.png"
        " --cref https://a.test/c.png --v 6.1",
        "a fox --iw 2",  # a warning: --iw without an image
    ],
)
def test_prompts_rebuilt_from_the_same_text_share_no_lists(text: str) -> None:
    base = parse_prompt(text)
    first = with_params(base, stylize=250)
    second = with_params(base, stylize=250)
    assert first == second

    def lists(prompt: Prompt) -> list[list[Any]]:
        params = prompt.params
        return [
            prompt.image_urls,
            prompt.segments,
            prompt.warnings,
            params.no,
            params.sref,
            params.cref,
        ]

    before = [list(items) for items in lists(second)]
    assert any(before)
    for items in lists(first):
        items.append(object())  # whatever the list holds, a shared list would show it
    assert [list(items) for items in lists(second)] == before
    assert [list(items) for items in lists(with_params(base, stylize=250))] == before


# Pairs that compare (and hash) equal but are different values: a remembered rebuild of the
# first must answer for the second exactly as a fresh one would.
_EQUAL_BUT_DIFFERENT = [
    ({"raw": 0}, {"raw": False}),
    ({"raw": False}, {"raw": 0}),
    ({"raw": 1}, {"raw": True}),
    ({"tile": 0.0}, {"tile": False}),
    ({"stylize": 250}, {"stylize": 250.0}),
    ({"stylize": 0}, {"stylize": False}),
    ({"iw": 0.0}, {"iw": False}),
    ({"chaos": 1}, {"chaos": True}),
    ({"seed": 0.0}, {"seed": False}),
    ({"speed": SpeedMode.TURBO}, {"speed": "turbo"}),
]


@pytest.mark.parametrize(("first", "then"), _EQUAL_BUT_DIFFERENT)
def test_a_remembered_rebuild_gives_what_a_fresh_one_does(
    first: dict[str, object], then: dict[str, object]
) -> None:
    from bot.prompt import rebuild

    base = parse_prompt("https://a.test/x.png a fox --no dogs --v 6.1")

    def outcome(changes: dict[str, object]) -> object:
        try:
            return with_params(base, **changes).to_prompt()
        except PromptError as exc:
            return sorted(issue.code for issue in exc.issues)

    rebuild._rebuilt_texts.clear()
    fresh = outcome(then)
    rebuild._rebuilt_texts.clear()
    outcome(first)  # remembered under a key equal to the next one's but for the types
    assert outcome(then) == fresh


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"raw": 0}, "a fox"),
        ({"tile": 0.0}, "a fox"),
        ({"raw": 1}, "a fox --raw"),
        ({"seed": 0}, "a fox --seed 0"),  # 0 is a seed, not "unset"
        ({"speed": "turbo"}, "a fox --turbo"),
    ],
)
def test_a_changed_parameter_is_written_as_its_validated_value(
    changes: dict[str, object], text: str
) -> None:
    assert with_params(parse_prompt("a fox"), **changes).to_prompt() == text


def test_a_bad_seed_is_reported_beside_the_other_changes_problems() -> None:
    prompt = parse_prompt("https://img0.example/p0.png cat::1 --v 1")
    with pytest.raises(PromptError) as caught:
        with_params(prompt, seed=-1, speed=SpeedMode.TURBO)
    codes = sorted(issue.parameter or "" for issue in caught.value.issues)
    assert codes == ["seed", "turbo"]
