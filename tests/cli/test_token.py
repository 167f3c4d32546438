import pytest

from bot.cli.token import application_id_from_token, token_problem
from tests.cli.conftest import APPLICATION_ID, TOKEN


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (None, "not set; set TESSERA_DISCORD__TOKEN"),
        ("   ", "not set; set TESSERA_DISCORD__TOKEN"),
        (f"Bot {TOKEN}", "remove the 'Bot' prefix"),
        (f" {TOKEN}", "surrounding spaces or quotes"),
        (f'"{TOKEN}"', "surrounding spaces or quotes"),
        ("abc.def", "does not look like a bot token"),
        (TOKEN + ".extra", "does not look like a bot token"),
        (TOKEN.replace(".", "..", 1), "does not look like a bot token"),
        ("abc+def.ghi.jkl", "does not look like a bot token"),
        ("bm90LWFuLWlk.GhIjKl.abcdef", "does not encode a user id"),
        ("____.GhIjKl.abcdef", "does not encode a user id"),
        (TOKEN, None),
    ],
)
def test_token_problem(token: str | None, expected: str | None) -> None:
    problem = token_problem(token)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None
        assert expected in problem
        assert problem.startswith("discord.token: ")


@pytest.mark.parametrize("token", [f"Bot {TOKEN}", f" {TOKEN}", TOKEN + ".extra", "x.y.z"])
def test_problems_never_repeat_the_token(token: str) -> None:
    problem = token_problem(token)
    assert problem is not None
    assert TOKEN not in problem
    assert TOKEN.split(".")[2] not in problem


def test_application_id_comes_from_the_first_part() -> None:
    assert application_id_from_token(TOKEN) == APPLICATION_ID
    assert application_id_from_token("%%%.a.b") is None
