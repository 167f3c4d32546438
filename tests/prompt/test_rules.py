"""Rules between parameters and model versions: each with a case that passes and one that fails."""

from __future__ import annotations

import pytest

from bot.prompt import parse_prompt
from tests.prompt.helpers import assert_refused

URL = "https://images.example/ref.png"

ACCEPTED = [
    "cat --ar 2:1 --v 4",
    "cat --ar 1:2 --v 4",
    "cat --ar 10:1 --v 5",
    "cat --ar 1:10",
    "cat --ar 2:1 --niji 4",
    "cat --q 2 --v 4",
    "cat --q 4",
    "cat --q 4 --v 7",
    "cat --w 100 --v 5",
    "cat --w 100 --niji 5",
    "cat --w 100 --niji",
    f"{URL} cat --iw 2 --v 5",
    f"{URL} cat --iw 3 --v 6",
    f"cat --cref {URL} --v 6",
    f"cat --cref {URL} --v 6.1",
    f"cat --cref {URL} --niji 6",
    f"cat --cref {URL} --cw 50 --v 6",
    "cat --sref 1 --sw 50",
    f"cat --oref {URL} --ow 50",
    f"cat --oref {URL} --fast",
    f"cat --oref {URL} --q 2",
    "cat --v 6",
    "cat --niji 6 --style scenic",
    "cat --style raw --v 6",
    "cat --draft",
    "cat --exp 10",
    "cat --turbo --v 5",
    "cat --turbo --niji 5",
    "cat --relax",
    "cat::2 dog --v 3",
    f"{URL} {URL}",
    f"{URL} {URL} --ar 3:2",
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_rule_satisfied(text: str) -> None:
    parse_prompt(text)


REFUSED = [
    ("cat --ar 3:1 --v 4", "out_of_range", "1:2 to 2:1"),
    ("cat --ar 5:2 --niji 4", "out_of_range", "2:1"),
    ("cat --ar 11:1 --v 5", "out_of_range", "10:1"),
    ("cat --q 2 --v 3", "incompatible", "V4 or later"),
    ("cat --q 4 --v 6.1", "incompatible", "needs V7"),
    ("cat --q 4 --niji 6", "incompatible", "needs V7"),
    ("cat --w 100 --v 4", "incompatible", "V5 or later"),
    ("cat --w 100 --niji 4", "incompatible", "V5 or later"),
    (f"{URL} cat --iw 2.5 --v 5.2", "out_of_range", "0 to 2"),
    (f"cat --cref {URL}", "incompatible", "use --oref"),
    (f"cat --cref {URL} --v 5", "incompatible", "V6 and niji 6"),
    ("cat --cw 50 --v 6", "incompatible", "needs --cref"),
    ("cat --sw 50", "incompatible", "needs --sref"),
    ("cat --ow 50", "incompatible", "needs --oref"),
    (f"cat --oref {URL} --v 6.1", "incompatible", "needs V7"),
    (f"cat --oref {URL} --turbo", "incompatible", "--turbo"),
    (f"cat --oref {URL} --relax", "incompatible", "--relax"),
    (f"cat --oref {URL} --draft", "incompatible", "--draft"),
    (f"cat --oref {URL} --q 4", "incompatible", "--q 4"),
    ("cat --v 6 --niji 6", "incompatible", "choose one"),
    ("cat --niji --version 7", "incompatible", "choose one"),
    ("cat --style cute", "incompatible", "needs --niji"),
    ("cat --draft --v 6.1", "incompatible", "needs V7"),
    ("cat --exp --v 6", "incompatible", "needs V7"),
    ("cat --turbo --v 4", "incompatible", "V5 or later"),
    ("cat --fast --turbo", "incompatible", "only one of --fast, --relax and --turbo"),
    ("cat --relax --fast", "incompatible", "only one"),
    ("cat::1.5 dog --v 3", "weight_format", "use ::2 instead of ::1.5"),
    (f"{URL} {URL} --s 200", "incompatible", "only of images"),
    (f"{URL} {URL} --w 200", "incompatible", "only of images"),
    ("cat --s 1 --stylize 2", "duplicate_parameter", "--s and --stylize"),
    ("cat --ar 1:1 --ar 2:3", "duplicate_parameter", "written twice"),
    ("cat --style raw --raw", "duplicate_parameter", "--raw"),
]


@pytest.mark.parametrize(("text", "code", "hint"), REFUSED)
def test_rule_broken(text: str, code: str, hint: str) -> None:
    assert_refused(text, code, hint)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("cat --ar 3:1", "experimental_aspect"),
        ("cat --ar 1:5 --niji 6", "experimental_aspect"),
        ("cat --iw 2", "image_weight_unused"),
        ("cat:: dog", "multi_prompt_v7"),
        ("cat::2", "multi_prompt_v7"),
    ],
)
def test_warnings(text: str, code: str) -> None:
    assert [warning.code for warning in parse_prompt(text).warnings] == [code]


@pytest.mark.parametrize(
    "text", ["cat --ar 2:1", "cat:: dog --v 6", "cat::2 --niji 6", "cat::1", f"{URL} cat --iw 2"]
)
def test_no_warnings(text: str) -> None:
    assert parse_prompt(text).warnings == []
