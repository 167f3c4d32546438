"""Benchmark of bot.prompt (run by hand, not by CI); the last line printed is one JSON object.

Figures: parses per second of typical prompts on one core (target >= 20,000), milliseconds for
a 6000-character prompt with 40 parameters (target < 5), and milliseconds for each
adversarial input (target < 50 each), each the best of several runs.

Run: python bench/prompt_bench.py
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.prompt import PromptError, expand_prompt, parse_prompt

TYPICAL = [
    "A cute kitten --ar 16:9 --stylize 100",
    "Beautiful landscape, sunset over rolling hills, golden hour light --quality 1 --chaos 50",
    "Portrait of an elderly wizard, oil painting style, long white beard, wise eyes, wearing "
    "purple robes, mystical library background --ar 2:3 --stylize 200 --quality 1",
    "Beach::2 mountain forest --ar 16:9 --no people, cars --seed 1234",
    "Minimalist poster of a lighthouse, flat colours, bold shapes --raw --stylize 0 --stop 80",
    "Dynamic explosion in a neon city at night, cinematic --chaos 75 --weird 250 --s 200 --v 6.1",
    "https://cdn.example.com/ref.png a small duck holding a magic wand --iw 1.5 --ar 4:3",
    "Anime girl under cherry blossoms, soft pastel palette --niji 6 --s 400 --ar 9:16 --fast",
]


def _parse_or_error(text: str) -> None:
    with contextlib.suppress(PromptError):
        parse_prompt(text)


def _expand_or_error(text: str) -> None:
    with contextlib.suppress(PromptError):
        expand_prompt(text)


def _best_ms(call: Callable[[], None], repeats: int = 20) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 4)


def _parses_per_second(seconds: float = 2.0) -> float:
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for text in TYPICAL:
            parse_prompt(text)
        count += len(TYPICAL)
    return round(count / (time.perf_counter() - start))


def _long_prompt() -> str:
    parameters = " ".join(
        f"--{name} {value}"
        for name, value in [
            ("ar", "16:9"), ("s", "250"), ("c", "10"), ("q", "2"), ("w", "5"), ("seed", "7"),
            ("stop", "90"), ("no", "cars, people"), ("tile", ""), ("raw", ""),
        ]
    )  # fmt: skip
    # Forty parameters: the ten above four times (duplicates are errors: parsed all the same).
    tail = " ".join([parameters] * 4)
    body_length = 6000 - len(tail) - 1
    words = ("a quiet harbour at dawn with fishing boats and gulls, " * 200)[:body_length]
    return f"{words} {tail}"


ADVERSARIAL: dict[str, str] = {
    "colons_6000": "::" * 3000,
    "colon_weights_6000": "a::1 " * 1200,
    "open_braces_1000": "{" * 1000,
    "nested_braces_1000": "{" * 1000 + "x" + "}" * 1000,
    "permutations_2_pow_30": "{a,b}" * 30,
    "control_chars_6000": "".join(chr(n % 32) for n in range(6000)),
    "emoji_6000": "🎨🦆✨" * 2000,
    "dashes_alone": "--",
    "dashes_6000": "-- " * 2000,
    "em_dashes_6000": "—a " * 2000,
    "parameters_2000": "--s " * 1500,
    "urls_6000": "https://a.example/x.png " * 250,
}


def main() -> None:
    long_prompt = _long_prompt()
    assert len(long_prompt) == 6000
    figures: dict[str, object] = {
        "parses_per_second": _parses_per_second(),
        "target_parses_per_second": 20000,
        "long_prompt_ms": _best_ms(lambda: _parse_or_error(long_prompt)),
        "target_long_prompt_ms": 5,
        "target_adversarial_ms": 50,
    }
    for name, text in ADVERSARIAL.items():
        figures[f"parse_{name}_ms"] = _best_ms(lambda text=text: _parse_or_error(text))
        figures[f"expand_{name}_ms"] = _best_ms(lambda text=text: _expand_or_error(text))
    for key, value in figures.items():
        print(f"{key:>40}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
