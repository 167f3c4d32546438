"""The ``Prompt`` model: canonical text, weights, and changing parameters."""

from __future__ import annotations

import pytest

from bot.prompt import Prompt, PromptError, Segment, parse_prompt
from bot.speed import SpeedMode

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
        prompt = parse_prompt("cat --ar 3:2").with_params(seed=1234)
        assert prompt.params.seed == 1234
        assert "seed" in prompt.explicit
        assert prompt.to_prompt() == "cat --ar 3:2 --seed 1234"

    @pytest.mark.parametrize(("field", "text"), [("seed", "cat --seed 0"), ("chaos", "cat --c 0")])
    def test_zero_is_a_value(self, field: str, text: str) -> None:
        assert parse_prompt("cat").with_params(**{field: 0}).to_prompt() == text

    def test_flags_set_and_cleared(self) -> None:
        prompt = parse_prompt("cat --tile").with_params(tile=False, raw=True)
        assert (prompt.params.tile, prompt.params.raw, prompt.to_prompt()) == (
            False,
            True,
            "cat --raw",
        )

    def test_new_seed_replaces_old(self) -> None:
        prompt = parse_prompt("cat --seed 1").with_params(seed=2)
        assert prompt.to_prompt() == "cat --seed 2"

    def test_speed_replaces_the_flag(self) -> None:
        prompt = parse_prompt("cat --fast").with_params(speed=SpeedMode.RELAX)
        assert prompt.params.speed == "relax"
        assert prompt.explicit == {"relax"}

    def test_niji_replaces_version(self) -> None:
        prompt = parse_prompt("cat --v 6").with_params(niji=5)
        assert (prompt.params.version, prompt.params.niji) == (None, 5)
        assert prompt.to_prompt() == "cat --niji 5"

    def test_changes_are_validated(self) -> None:
        with pytest.raises(PromptError) as caught:
            parse_prompt("cat").with_params(stylize=5000)
        assert caught.value.code == "out_of_range"

    def test_unknown_field(self) -> None:
        with pytest.raises(PromptError) as caught:
            parse_prompt("cat").with_params(colour="red")
        assert caught.value.code == "unknown_parameter"

    def test_style_raw_is_the_raw_flag(self) -> None:
        assert parse_prompt("cat").with_params(style="raw").to_prompt() == "cat --raw"

    def test_image_prompts_and_weights_are_kept(self) -> None:
        prompt = parse_prompt(f"{URL} cat::2 dog")
        assert prompt.with_params(chaos=5).to_prompt() == f"{URL} cat::2 dog::1 --c 5"


class TestWithoutParams:
    def test_back_to_default(self) -> None:
        prompt = parse_prompt("cat --seed 5 --s 50").without_params("seed")
        assert (prompt.params.seed, prompt.explicit) == (None, frozenset({"stylize"}))

    def test_speed_flags(self) -> None:
        prompt = parse_prompt("cat --turbo").without_params("speed")
        assert (prompt.params.speed, prompt.to_prompt()) == (None, "cat")

    def test_niji_back_to_default_version(self) -> None:
        prompt = parse_prompt("cat --niji 5").without_params("niji")
        assert (prompt.params.version, prompt.params.niji) == ("7", None)

    def test_dependants_must_go_too(self) -> None:
        with pytest.raises(PromptError) as caught:
            parse_prompt("cat --sref 1 --sw 5").without_params("sref")
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
    first = base.with_params(stylize=250)
    second = base.with_params(stylize=250)
    assert first == second
    lists = [
        first.image_urls,
        first.segments,
        first.warnings,
        first.params.no,
        first.params.sref,
        first.params.cref,
    ]
    assert any(lists)
    for items in lists:
        items.append(items[0] if items else "birds")  # type: ignore[arg-type]
    assert second == base.with_params(stylize=250)
    assert second.params.no == base.params.no
    assert "birds" not in base.with_params(stylize=250).to_prompt()


@pytest.mark.parametrize(
    "changes",
    [
        {"raw": True},
        {"raw": 1},
        {"stylize": 250},
        {"stylize": 250.0},
        {"stylize": 250.5},
        {"seed": True},
        {"seed": 1},
        {"speed": SpeedMode.TURBO},
        {"speed": "relax"},
        {"no": ["birds"]},
    ],
)
def test_a_remembered_rebuild_gives_what_a_fresh_one_does(changes: dict[str, object]) -> None:
    from bot.prompt import parser

    base = parse_prompt("a fox --no dogs --v 6.1")

    def outcome() -> object:
        try:
            return base.with_params(**changes).to_prompt()
        except PromptError as exc:
            return [issue.code for issue in exc.issues]

    # Every other case has been remembered first, under keys that compare equal (True == 1).
    for other in ({"raw": 1}, {"raw": True}, {"stylize": 250}, {"seed": 1}, {"seed": True}):
        base.with_params(**other)
    remembered = outcome()
    parser._rebuilt_texts.clear()
    assert outcome() == remembered
