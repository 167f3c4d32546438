"""Structure of a prompt: image URLs, parameter starts, segments and weights, layers, errors."""

from __future__ import annotations

import pytest

from bot.errors import UserFacingError
from bot.prompt import Segment, parse_prompt
from tests.prompt.helpers import refused

URL = "https://images.example/a.png"
URL2 = "http://images.example/b.jpg?size=large"


@pytest.mark.parametrize(
    ("text", "urls", "segments"),
    [
        (f"{URL} a cat", [URL], ["a cat"]),
        (f"{URL} {URL2} a cat", [URL, URL2], ["a cat"]),
        (f"{URL} {URL2}", [URL, URL2], []),
        (f"a cat {URL}", [], [f"a cat {URL}"]),
        ("HTTPS://IMAGES.EXAMPLE/A.PNG cat", ["HTTPS://IMAGES.EXAMPLE/A.PNG"], ["cat"]),
    ],
)
def test_image_prompts_are_the_leading_urls(
    text: str, urls: list[str], segments: list[str]
) -> None:
    prompt = parse_prompt(text)
    assert prompt.image_urls == urls
    assert [segment.text for segment in prompt.segments] == segments


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty_prompt"),
        ("   ", "empty_prompt"),
        ("--ar 16:9", "empty_prompt"),
        (URL, "empty_prompt"),
        (f"{URL} --ar 16:9", "empty_prompt"),
        (":: ::", "empty_prompt"),
        ("https:// cat", "invalid_url"),
        ("x" * 6001, "prompt_too_long"),
    ],
)
def test_prompt_content_errors(text: str, code: str) -> None:
    assert refused(text).code == code


def test_length_limit_counts_trimmed_text() -> None:
    assert parse_prompt("  " + "x" * 6000 + "  ").segments[0].text == "x" * 6000


@pytest.mark.parametrize(
    ("text", "segment", "params"),
    [
        (
            "well-lit black-and-white photo --ar 3:2",
            "well-lit black-and-white photo",
            {"ar": "3:2"},
        ),
        ("photo —ar 3:2 —no cars", "photo", {"ar": "3:2", "no": ["cars"]}),
        ("photo -- ar 3:2", "photo -- ar 3:2", {"ar": "1:1"}),
        ("photo --2 cats", "photo --2 cats", {}),
        ("a-- b --s 5", "a-- b", {"stylize": 5}),
        ("photo --AR 3:2 --NO Cars", "photo", {"ar": "3:2", "no": ["Cars"]}),
        ("garden --no weeds, dead plants --s 5", "garden", {"no": ["weeds", "dead plants"]}),
        ("photo\n--ar\t3:2", "photo", {"ar": "3:2"}),
    ],
)
def test_parameter_start_rule(text: str, segment: str, params: dict[str, object]) -> None:
    prompt = parse_prompt(text)
    assert [s.text for s in prompt.segments] == [segment]
    for field, value in params.items():
        assert getattr(prompt.params, field) == value


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("space ship", [("space ship", 1)]),
        ("space:: ship", [("space", 1), ("ship", 1)]),
        ("space : : ship", [("space : : ship", 1)]),
        ("space::2 ship", [("space", 2), ("ship", 1)]),
        ("cup:: cake:: illustration::", [("cup", 1), ("cake", 1), ("illustration", 1)]),
        ("space:: 2 ship", [("space", 1), ("2 ship", 1)]),
        ("a::.5 b::1.25", [("a", 0.5), ("b", 1.25)]),
        ("a::2 b::-.5", [("a", 2), ("b", -0.5)]),
        ("a::3. b", [("a", 3), ("b", 1)]),
        ("a::100 b::100", [("a", 100), ("b", 100)]),
        ("a::0 b", [("a", 0), ("b", 1)]),
        ("a::-cat b", [("a", 1), ("-cat b", 1)]),
    ],
)
def test_segments_and_weights(text: str, segments: list[tuple[str, float]]) -> None:
    assert parse_prompt(text).segments == [Segment(text=t, weight=w) for t, w in segments]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("hot dog animal::-1", "weight_sum"),
        ("a::1 b::-1", "weight_sum"),
        ("a::0", "weight_sum"),
        ("a::2x b", "weight_format"),
        ("a::1.2.3 b", "weight_format"),
        ("a::9999999 b", "weight_format"),
        ("a::1.5 b --v 2", "weight_format"),
    ],
)
def test_weight_errors(text: str, code: str) -> None:
    assert refused(text).code == code


def test_no_items_do_not_count_toward_the_weight_sum() -> None:
    prompt = parse_prompt("garden::1 weeds::-.5 --no cars, people")
    assert prompt.normalized_weights() == [2.0, -1.0]
    assert prompt.weighted_terms()[2:] == [
        Segment(text="cars", weight=-0.5),
        Segment(text="people", weight=-0.5),
    ]


def test_relative_weights_normalise_the_same() -> None:
    assert (
        parse_prompt("space::100 ship::100").normalized_weights()
        == parse_prompt("space:: ship").normalized_weights()
    )


def test_every_error_is_collected_in_reading_order() -> None:
    error = refused("cat --stylze 5 --ar 1.39:1 --c 500 --motion 2 --v 6 --niji --q 9")
    assert [issue.code for issue in error.issues] == [
        "unknown_parameter",
        "aspect_format",
        "out_of_range",
        "unsupported_parameter",
        "incompatible",
        "out_of_range",
    ]
    assert "did you mean --stylize?" in error.issues[0].message.lower()
    assert "use 139:100 instead of 1.39:1" in error.issues[1].message
    assert error.code == "unknown_parameter"
    assert error.message.count("\n") == len(error.issues) - 1


def test_prompt_error_is_a_user_facing_valuerefused() -> None:
    error = refused("")
    assert isinstance(error, UserFacingError)
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("personalize", "profile"),
        ("p", "profile"),
        ("stealth", "visibility"),
        ("public", "visibility"),
        ("video", "video command"),
        ("bs 2", "video"),
        ("batchsize 4", "video"),
        ("motion 4", "1-4"),
    ],
)
def test_unsupported_parameters_give_their_reason(name: str, reason: str) -> None:
    error = refused(f"cat --{name}")
    assert error.code == "unsupported_parameter"
    assert reason in error.issues[0].message


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("stylze", "--stylize"),
        ("chaso", "--chaos"),
        ("aspct", "--ar"),
        ("v7", "--v 7"),
        ("s250", "--s 250"),
        ("qualty", "--quality"),
        ("zzzzzzzz", None),
    ],
)
def test_unknown_parameters_suggest_a_close_name(name: str, suggestion: str | None) -> None:
    error = refused(f"cat --{name}")
    assert error.code == "unknown_parameter"
    message = error.issues[0].message
    assert (
        (f"Did you mean {suggestion}?" in message)
        if suggestion
        else ("Did you mean" not in message)
    )


def test_messages_never_echo_the_whole_prompt() -> None:
    text = "a long description of a castle " * 10 + "--c 500 --ar wide"
    for issue in refused(text).issues:
        assert "castle" not in issue.message


class TestLayers:
    def test_defaults_apply_lowest_first(self) -> None:
        prompt = parse_prompt("cat", defaults=["--v 6 --s 250", "--s 300"])
        assert (prompt.params.version, prompt.params.stylize) == ("6", 300)
        assert {"version", "stylize"} <= prompt.explicit
        assert prompt.to_prompt() == "cat --s 300 --v 6"

    def test_prompt_overrides_defaults_without_duplicates(self) -> None:
        prompt = parse_prompt("cat --s 50", defaults=["--s 250"], suffix="--s 100")
        assert prompt.params.stylize == 50

    def test_suffix_sits_between_defaults_and_prompt(self) -> None:
        prompt = parse_prompt("cat", defaults=["--s 250 --c 5"], suffix="--s 100")
        assert (prompt.params.stylize, prompt.params.chaos) == (100, 5)

    def test_suffix_text_is_appended(self) -> None:
        prompt = parse_prompt("cat::2 dog --ar 3:2", suffix="oil painting --tile")
        assert [s.text for s in prompt.segments] == ["cat", "dog oil painting"]
        assert prompt.params.tile

    def test_exclusive_pairs_across_layers_drop_the_lower(self) -> None:
        prompt = parse_prompt("cat --niji 6", defaults=["--v 6 --fast"], suffix="--relax")
        assert (prompt.params.version, prompt.params.niji) == (None, 6)
        assert prompt.params.speed == "relax"
        assert "version" not in prompt.explicit

    def test_default_version_other_than_built_in_reaches_the_text(self) -> None:
        prompt = parse_prompt("cat", default_version="6.1")
        assert prompt.params.version == "6.1"
        assert prompt.to_prompt() == "cat --v 6.1"
        assert parse_prompt("cat --niji", default_version="6").params.version is None

    def test_built_in_default_version_is_not_written(self) -> None:
        prompt = parse_prompt("cat")
        assert (prompt.params.version, prompt.explicit) == ("7", frozenset())

    def test_issues_in_a_layer_say_where_they_come_from(self) -> None:
        error = refused("cat", defaults={"the server defaults": "--s 5000"})
        assert error.issues[0].message.startswith("In the server defaults:")
        assert error.issues[0].span is None
        suffix_error = refused("cat", suffix="--bogus")
        assert "/prefer suffix" in suffix_error.issues[0].message

    def test_defaults_hold_only_parameters(self) -> None:
        assert refused("cat", defaults=["dog --s 5"]).code == "invalid_value"

    @pytest.mark.parametrize(
        ("text", "defaults", "suffix", "left_out"),
        [
            (f"cat --oref {URL}", "", "--relax", "relax"),
            (f"cat --oref {URL}", "--q 4", "", "quality"),
            ("cat --v 4", "--w 100", "", "weird"),
            ("cat --v 4", "--ar 3:1", "", "ar"),
            ("cat --v 6", "--draft --exp 5", "", "draft"),
            ("cat", "--draft", "--v 6", "draft"),
        ],
    )
    def test_settings_that_break_a_rule_are_left_out(
        self, text: str, defaults: str, suffix: str, left_out: str
    ) -> None:
        prompt = parse_prompt(text, defaults=[defaults], suffix=suffix)
        assert left_out not in prompt.explicit
        assert "default_ignored" in [warning.code for warning in prompt.warnings]
        assert all(warning.span is None for warning in prompt.warnings)

    @pytest.mark.parametrize(
        ("text", "defaults", "suffix"),
        [
            ("cat --draft", "--v 6", ""),
            ("cat", "--sw 200", ""),
            ("cat", "--v 6.1 --q 4", ""),
            ("cat --cw 5", "", f"--cref {URL}"),
            ("cat", "", f"--oref {URL} --relax"),
        ],
    )
    def test_rules_broken_by_what_the_user_wrote_stay_errors(
        self, text: str, defaults: str, suffix: str
    ) -> None:
        assert refused(text, defaults=[defaults], suffix=suffix).code == "incompatible"

    def test_image_only_prompt_ignores_default_stylize(self) -> None:
        prompt = parse_prompt(f"{URL} {URL2}", defaults=["--s 250"])
        assert "stylize" not in prompt.explicit
        assert [w.code for w in prompt.warnings] == ["default_ignored"]


class TestCustomOptions:
    def test_option_expands_in_place(self) -> None:
        prompt = parse_prompt("cat --mine --c 5", options={"mine": "--ar 3:2 --s 50"})
        assert (prompt.params.ar, prompt.params.stylize, prompt.params.chaos) == ("3:2", 50, 5)

    def test_option_cannot_shadow_a_built_in(self) -> None:
        assert parse_prompt("cat --s 5", options={"s": "--s 900"}).params.stylize == 5

    def test_option_conflicting_with_prompt_is_a_duplicate(self) -> None:
        error = refused("cat --mine --s 5", options={"mine": "--s 50"})
        assert error.code == "duplicate_parameter"

    def test_bad_option_names_the_option(self) -> None:
        error = refused("cat --mine", options={"mine": "--s 5000"})
        assert "--mine" in error.issues[0].message

    def test_option_written_twice_expands_once(self) -> None:
        error = refused("cat " + "--mine " * 800, options={"mine": "--ar 3:2 --s 50"})
        assert {issue.code for issue in error.issues} == {"duplicate_parameter"}
        assert len(error.issues) == 799

    def test_option_with_text_is_refused(self) -> None:
        assert refused("cat --mine", options={"mine": "dog --s 5"}).code == "invalid_value"


class TestExpansionOnlyInThePrompt:
    """--repeat and {a, b} are expanded from the typed prompt only, before the layers apply."""

    @pytest.mark.parametrize(
        ("kwargs", "origin"),
        [
            ({"suffix": "--repeat 3"}, "your /prefer suffix"),
            ({"suffix": "oil --r 2"}, "your /prefer suffix"),
            ({"defaults": {"the server defaults": "--repeat 2"}}, "the server defaults"),
            ({"defaults": ["--r 4"]}, "default parameters #1"),
        ],
    )
    def test_repeat_from_a_layer_is_refused(self, kwargs: dict[str, object], origin: str) -> None:
        error = refused("cat", **kwargs)
        assert error.code == "prompt_only"
        [issue] = error.issues
        assert issue.message.startswith(f"In {origin}: --repeat only works in the prompt")

    def test_repeat_from_a_custom_option_is_refused(self) -> None:
        error = refused("cat --mine", options={"mine": "--repeat 3 --s 50"})
        assert error.code == "prompt_only"
        assert "--mine" in error.issues[0].message

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"suffix": "in {oil, ink}"},
            {"suffix": "--no {red, blue}"},
            {"defaults": ["--no {red, blue}"]},
            {"defaults": {"your defaults": "--no {a,b}"}},
        ],
    )
    def test_braces_from_a_layer_are_refused(self, kwargs: dict[str, object]) -> None:
        error = refused("cat", **kwargs)
        assert "prompt_only" in {issue.code for issue in error.issues}
        assert any("{a, b}" in issue.message for issue in error.issues)

    def test_braces_from_a_custom_option_are_refused(self) -> None:
        error = refused("cat --mine", options={"mine": "--no {red, blue}"})
        assert error.code == "prompt_only"

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"suffix": r"in \{oil\} colours"},
            {"suffix": "a lone } brace"},
            {"defaults": ["--no red, blue"]},
        ],
    )
    def test_escaped_or_lone_braces_stay_allowed(self, kwargs: dict[str, object]) -> None:
        parse_prompt("cat", **kwargs)  # type: ignore[arg-type]

    def test_repeat_in_the_prompt_itself_is_left_to_expand_prompt(self) -> None:
        assert parse_prompt("cat --repeat 2").params.repeat == 2
