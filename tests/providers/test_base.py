import pytest

from bot.providers.base import written_seed


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
