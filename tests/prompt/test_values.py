"""Every parameter of the table: aliases, values, defaults and the value errors."""

from __future__ import annotations

from typing import Any

import pytest

from bot.model import SpeedMode
from bot.prompt import PARAMETERS, parse_prompt
from tests.prompt.helpers import assert_refused, refused

VALID: list[tuple[str, str, Any]] = [
    ("cat --ar 16:9", "ar", "16:9"),
    ("cat --aspect 1920:1080", "ar", "16:9"),
    ("cat --AR 2:3", "ar", "2:3"),
    ("cat", "ar", "1:1"),
    ("cat --chaos 50", "chaos", 50),
    ("cat --c 0", "chaos", 0),
    ("cat --c 100", "chaos", 100),
    ("cat", "chaos", 0),
    ("cat --quality .25", "quality", 0.25),
    ("cat --q 0.25", "quality", 0.25),
    ("cat --q .5", "quality", 0.5),
    ("cat --q 2", "quality", 2.0),
    ("cat --q 4", "quality", 4.0),
    ("cat", "quality", 1.0),
    ("cat --stylize 1000", "stylize", 1000),
    ("cat --s 0", "stylize", 0),
    ("cat", "stylize", 100),
    ("cat --weird 3000", "weird", 3000),
    ("cat --w 250", "weird", 250),
    ("cat", "weird", 0),
    ("cat --seed 0", "seed", 0),
    ("cat --seed 4294967295", "seed", 4294967295),
    ("cat", "seed", None),
    ("cat --stop 10", "stop", 10),
    ("cat --stop 100", "stop", 100),
    ("cat", "stop", 100),
    ("cat --no weeds, dead plants", "no", ["weeds", "dead plants"]),
    ("cat --no  a ,, b , ", "no", ["a", "b"]),
    ("cat", "no", []),
    ("https://a.example/x.png cat --iw 3", "iw", 3.0),
    ("https://a.example/x.png cat --iw 0", "iw", 0.0),
    ("https://a.example/x.png cat --iw .5", "iw", 0.5),
    ("cat", "iw", 1.0),
    ("cat --cref https://a.example/c.png --v 6", "cref", ["https://a.example/c.png"]),
    (
        "cat --cref https://a.example/c.png https://b.example/d.png --niji 6",
        "cref",
        ["https://a.example/c.png", "https://b.example/d.png"],
    ),
    ("cat --cref https://a.example/c.png --cw 0 --v 6.1", "cw", 0),
    ("cat", "cw", 100),
    ("cat --sref https://a.example/s.png", "sref", ["https://a.example/s.png"]),
    (
        "cat --sref 123456::2 https://a.example/s.png::.5",
        "sref",
        ["123456::2", "https://a.example/s.png::0.5"],
    ),
    ("cat --sref random", "sref", ["random"]),
    ("cat --sref RANDOM", "sref", ["random"]),
    ("cat --sref 1 --sw 1000", "sw", 1000),
    ("cat", "sw", 100),
    ("cat --oref https://a.example/o.png", "oref", "https://a.example/o.png"),
    ("cat --oref https://a.example/o.png --ow 1", "ow", 1),
    ("cat --oref https://a.example/o.png --ow 1000", "ow", 1000),
    ("cat", "oref", None),
    ("cat --version 6.1", "version", "6.1"),
    ("cat --v 5.0", "version", "5"),
    ("cat --v 6.0", "version", "6"),
    ("cat --v 1", "version", "1"),
    ("cat", "version", "7"),
    ("cat --niji", "niji", 6),
    ("cat --niji 5", "niji", 5),
    ("cat --niji 4", "niji", 4),
    ("cat --niji", "version", None),
    ("cat", "niji", None),
    ("cat --style raw", "raw", True),
    ("cat --style raw", "style", None),
    ("cat --niji 5 --style cute", "style", "cute"),
    ("cat --niji --style Expressive", "style", "expressive"),
    ("cat --raw", "raw", True),
    ("cat", "raw", False),
    ("cat --tile", "tile", True),
    ("cat", "tile", False),
    ("cat --draft", "draft", True),
    ("cat", "draft", False),
    ("cat --exp", "exp", None),
    ("cat --exp 0", "exp", 0),
    ("cat --exp 100", "exp", 100),
    ("cat --fast", "speed", SpeedMode.FAST),
    ("cat --relax", "speed", SpeedMode.RELAX),
    ("cat --turbo", "speed", SpeedMode.TURBO),
    ("cat --turbo", "speed", "turbo"),
    ("cat", "speed", None),
    ("cat --repeat 2", "repeat", 2),
    ("cat --r 40", "repeat", 40),
    ("cat", "repeat", 1),
]


@pytest.mark.parametrize(("text", "field", "expected"), VALID)
def test_valid_values(text: str, field: str, expected: Any) -> None:
    assert getattr(parse_prompt(text).params, field) == expected


INVALID: list[tuple[str, str, str]] = [
    ("cat --ar", "missing_value", "ar"),
    ("cat --ar 1.39:1", "aspect_format", "139:100"),
    ("cat --ar 8.5:11", "aspect_format", "85:110"),
    ("cat --ar 16x9", "aspect_format", "16:9"),
    ("cat --ar 0:1", "aspect_format", "positive"),
    ("cat --ar wide", "aspect_format", "16:9"),
    ("cat --ar 11:1", "out_of_range", "10:1"),
    ("cat --c 101", "out_of_range", "0 to 100"),
    ("cat --c -1", "out_of_range", "0 to 100"),
    ("cat --c 5.5", "invalid_value", "whole number"),
    ("cat --c lots", "invalid_value", "whole number"),
    ("cat --c", "missing_value", "--c"),
    ("cat --q 3", "out_of_range", ".25, .5, 1, 2 or 4"),
    ("cat --q high", "invalid_value", ".25"),
    ("cat --s 1001", "out_of_range", "0 to 1000"),
    ("cat --w 3001", "out_of_range", "0 to 3000"),
    ("cat --seed 4294967296", "out_of_range", "4294967295"),
    ("cat --seed -1", "invalid_value", "sign"),
    ("cat --seed 1.5", "invalid_value", "whole number"),
    ("cat --seed " + "9" * 40, "out_of_range", "4294967295"),
    ("cat --stop 9", "out_of_range", "10 to 100"),
    ("cat --stop 101", "out_of_range", "10 to 100"),
    ("cat --no", "missing_value", "--no"),
    ("cat --no , ,", "missing_value", "--no"),
    ("cat --iw 3.5", "out_of_range", "0 to 3"),
    ("cat --iw -1", "out_of_range", "0 to 3"),
    ("cat --cref ftp://a.example/c.png --v 6", "invalid_url", "https://"),
    ("cat --cref --v 6", "missing_value", "--cref"),
    ("cat --cref https://a.example/c.png --cw 101 --v 6", "out_of_range", "0 to 100"),
    ("cat --sref ftp://a.example/s.png", "invalid_url", "https://"),
    ("cat --sref 123::x", "weight_format", "::2"),
    ("cat --sref blue", "invalid_value", "style codes"),
    ("cat --sref 1 --sw 1001", "out_of_range", "0 to 1000"),
    ("cat --oref https://a.example/o.png https://a.example/p.png", "invalid_value", "exactly one"),
    ("cat --oref image.png", "invalid_url", "https://"),
    ("cat --oref https://a.example/o.png --ow 0", "out_of_range", "1 to 1000"),
    ("cat --v 8", "out_of_range", "6.1 or 7"),
    ("cat --v 7.0", "out_of_range", "6.1 or 7"),
    ("cat --v latest", "invalid_value", "6.1 or 7"),
    ("cat --v", "missing_value", "--v"),
    ("cat --niji 7", "out_of_range", "4, 5 or 6"),
    ("cat --niji anime", "invalid_value", "4, 5 or 6"),
    ("cat --style fancy", "invalid_value", "raw"),
    ("cat --style", "missing_value", "--style"),
    ("cat --raw please", "unexpected_value", "--raw"),
    ("cat --tile 1", "unexpected_value", "--tile"),
    ("cat --fast now", "unexpected_value", "--fast"),
    ("cat --relax later", "unexpected_value", "--relax"),
    ("cat --turbo 2", "unexpected_value", "--turbo"),
    ("cat --draft yes", "unexpected_value", "--draft"),
    ("cat --exp 101", "out_of_range", "0 to 100"),
    ("cat --exp x", "invalid_value", "whole number"),
    ("cat --repeat 1", "out_of_range", "2 to 40"),
    ("cat --r 41", "out_of_range", "2 to 40"),
]


@pytest.mark.parametrize(("text", "code", "hint"), INVALID)
def test_invalid_values(text: str, code: str, hint: str) -> None:
    assert_refused(text, code, hint)


def test_every_parameter_of_the_table_has_a_valid_and_an_invalid_case() -> None:
    fields_tested = {field for _, field, _ in VALID}
    invalid_texts = " ".join(text for text, _, _ in INVALID)
    for spec in PARAMETERS:
        assert spec.target in fields_tested, spec.name
        assert any(f"--{name} " in invalid_texts + " " for name in spec.names), spec.name


@pytest.mark.parametrize(
    ("text", "span_text"),
    [("cat --c 101", "--c 101"), ("a dog  --ar 1.5:1   --s 5", "--ar 1.5:1")],
)
def test_issue_span_points_at_the_parameter(text: str, span_text: str) -> None:
    span = refused(text).issues[0].span
    assert span is not None
    assert text[span[0] : span[1]] == span_text
