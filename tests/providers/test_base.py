import pytest

from bot.providers.base import replace_seed, written_seed


@pytest.mark.parametrize(
    ("prompt", "seed"),
    [
        ("a fox --seed 42", 42),
        ("a fox --seed 0 --ar 16:9", 0),
        ("--seed 7 a fox", 7),
        ("a fox --seeds 5", None),
        ("a fox x--seed 5", None),
        ("a fox --seed 5x", None),
        ("a fox", None),
    ],
)
def test_written_seed_reads_only_a_whole_seed_flag(prompt: str, seed: int | None) -> None:
    assert written_seed(prompt) == seed


def test_replace_seed_changes_only_the_seeds_value() -> None:
    assert replace_seed("a fox --seed 42 --ar 16:9", 7) == "a fox --seed 7 --ar 16:9"
    assert replace_seed("a fox", 7) == "a fox"
