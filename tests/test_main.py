import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ("run", "check", "sync", "invite", "migrate", "health")


def _python_m_bot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m bot ...`` as a newcomer runs it: no Tessera settings in the environment."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TESSERA_") and name != "DISCORD_TOKEN"
    }
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(  # noqa: S603 (fixed arguments, our own interpreter)
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = _python_m_bot("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in COMMANDS:
        assert f"    {command} " in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: python -m bot {command}")


def test_check_on_a_fresh_machine_explains_what_to_set(tmp_path: Path) -> None:
    result = _python_m_bot("check", "--offline", cwd=tmp_path)
    assert result.returncode != 0
    assert "TESSERA_DISCORD__TOKEN" in result.stdout
    assert not (tmp_path / "data").exists()


def test_run_on_a_fresh_machine_stops_with_exit_2_naming_the_token(tmp_path: Path) -> None:
    result = _python_m_bot(cwd=tmp_path)
    assert result.returncode == 2
    assert "TESSERA_DISCORD__TOKEN" in result.stderr


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = _python_m_bot("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'serve'" in result.stderr


def test_readme_has_exactly_the_two_setup_commands() -> None:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```$", readme, flags=re.DOTALL | re.MULTILINE)
    assert blocks == [
        "python -m pip install -e '.[local]' && python -m bot\n",
        "python -m pip install -e '.[test]' && python -m pytest\n",
    ]
    assert (
        "python -m pip install -e '.[test]' && python -m pytest" in (REPO / ".ci/run").read_text()
    )
