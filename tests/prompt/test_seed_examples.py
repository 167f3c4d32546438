"""Every example prompt of the seed document (the Midjourney parameter guide) parses."""

from __future__ import annotations

import pytest

from bot.prompt import PromptError, parse_prompt

REF = "https://cdn.example.com/reference.png"
CHARACTER = "https://cdn.example.com/character.png"
STYLE = "https://cdn.example.com/style.png"

EXAMPLE_USAGE = [
    "A cute kitten --ar 16:9 --stylize 100",
    "Beautiful landscape, sunset --quality 1 --chaos 50",
    f"Portrait --cref {REF} --niji",
    f"A small duck holding a magic wand --oref {REF}",
    "Dynamic explosion --chaos 75 --weird 250 --s 200",
    "Minimalist design --raw --stylize 0 --stop 80",
    "Mountain scenery --ar 16:9",
    "Abstract art --stylize 500 --weird 750",
]
MULTI_PROMPTS = [
    "Hot dog:: animal --ar 16:9",
    "Hot:: dog:: animal --ar 16:9",
    "Beach::2 mountain forest --ar 16:9",
    "Beach::0.5 mountain forest",
    "Beach::-0.5 mountain forest",
]
NEGATIVE_PROMPTS = [
    "Beautiful garden --no weeds, dead plants, brown leaves",
    "Portrait --no glasses, hat, beard",
    "Landscape --no buildings, cars, people",
]
COMBINATIONS = [
    "Professional portrait --quality 2 --stylize 50 --chaos 10",
    "Abstract art --stylize 750 --weird 1500 --chaos 80",
    "Portrait of an elderly wizard, oil painting style, long white beard, wise eyes, wearing "
    "purple robes, mystical library background --ar 2:3 --stylize 200 --quality 1",
    "A small duck holding a magic wand --oref http://image.example/image.png",
    "cat --ar 1920:1080",
    "cat --ar 85:110",
    "cat --ar 139:100",
    "cat --ar 3:2",
    "cat --ar 5:4",
    "cat --ar 1:10",
    "cat --ar 10:1",
    "cat --v 7 --draft",
    "cat --fast",
    "cat --turbo",
]
SUGGESTED_SETS = [
    "cat --quality 1 --stylize 250 --chaos 10",
    "cat --chaos 75 --stylize 50 --weird 500",
    f"cat --sref {STYLE} --stylize 100 --iw 1.5",
    "cat --stylize 50 --quality 1 --raw",
    "cat --stylize 750 --weird 1000 --chaos 80",
    "cat --niji 6 --stylize 200 --quality 1",
    "cat --chaos 25 --stylize 150",
]
PARAMETER_VALUES = [
    *(f"cat --s {s}" for s in (0, 25, 50, 100, 200, 250, 500, 750, 1000)),
    *(f"cat --c {c}" for c in (0, 15, 25, 50, 75, 100)),
    *(f"cat --q {q}" for q in ("0.25", "0.5", "1", "2")),
    *(f"cat --w {w}" for w in (0, 100, 250, 750, 1500, 2500, 3000)),
]

# --cref works on V6 and niji 6 only (spec section 4); these examples name no version, so they
# are read with a V6.1 default, and on the V7 default they must say to use --oref.
CHARACTER_EXAMPLES = [
    f"Character design --cref {CHARACTER} --seed 12345 --stylize 200",
    f"cat --cref {CHARACTER} --seed 4242 --chaos 0",
]


@pytest.mark.parametrize(
    "text",
    EXAMPLE_USAGE
    + MULTI_PROMPTS
    + NEGATIVE_PROMPTS
    + COMBINATIONS
    + SUGGESTED_SETS
    + PARAMETER_VALUES,
)
def test_seed_example_parses(text: str) -> None:
    prompt = parse_prompt(text)
    assert parse_prompt(prompt.to_prompt()) == prompt


@pytest.mark.parametrize("text", CHARACTER_EXAMPLES)
def test_character_reference_examples(text: str) -> None:
    assert parse_prompt(text, default_version="6.1").params.cref == [CHARACTER]
    with pytest.raises(PromptError) as caught:
        parse_prompt(text)
    assert caught.value.code == "incompatible"
    assert "--oref" in caught.value.issues[0].message


def test_motion_example_is_unsupported_with_its_reason() -> None:
    with pytest.raises(PromptError) as caught:
        parse_prompt("Dynamic action scene --niji 6 --motion 4 --chaos 30")
    assert [issue.code for issue in caught.value.issues] == ["unsupported_parameter"]
    assert "video" in caught.value.message


def test_seed_aspect_simplification() -> None:
    assert parse_prompt("cat --ar 1920:1080").params.ar == "16:9"
    assert parse_prompt("cat --ar 85:110").params.ar == "17:22"
