from pathlib import Path

import pytest

from bot.cli.parser import build_parser


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], {"command": None, "config": None}),
        (["--config", "a.toml"], {"command": None, "config": Path("a.toml")}),
        (["run", "--config", "b.toml"], {"command": "run", "config": Path("b.toml")}),
        (["--config", "a.toml", "run"], {"command": "run", "config": Path("a.toml")}),
        (["check"], {"command": "check", "offline": False, "timeout": 5.0}),
        (["check", "--offline", "--timeout", "0.5"], {"offline": True, "timeout": 0.5}),
        (["sync"], {"command": "sync", "guild": None}),
        (["sync", "--guild", "1234"], {"guild": 1234}),
        (["invite"], {"application_id": None, "guild": None}),
        (["invite", "--application-id", "77", "--guild", "5"], {"application_id": 77, "guild": 5}),
        (["migrate"], {"command": "migrate", "config": None}),
        (["health", "--timeout", "1"], {"command": "health", "timeout": 1.0}),
    ],
)
def test_arguments(argv: list[str], expected: dict[str, object]) -> None:
    args = vars(build_parser().parse_args(argv))
    assert {name: args[name] for name in expected} == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sync", "--guild", "abc"], "argument --guild: 'abc' is not a number"),
        (["sync", "--guild", "0"], "argument --guild: '0' must be positive"),
        (["invite", "--application-id", "-3"], "'-3' must be positive"),
        (["check", "--timeout", "nan"], "'nan' must be positive"),
        (["check", "--timeout", "0"], "'0' must be positive"),
        (["check", "--bogus"], "unrecognized arguments: --bogus"),
        (["launch"], "invalid choice: 'launch'"),
    ],
)
def test_bad_arguments_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
