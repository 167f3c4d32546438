"""Issue #11: start-up failures end in one line, with a documented exit status."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import discord
import pytest

from bot.cli import main
from bot.cli.commands import EXIT_CONFIG, EXIT_UNREACHABLE
from tests.cli.conftest import TOKEN


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "discord.invalid"])
def test_unreachable_discord_ends_in_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    closed_port: int,
    host: str,
) -> None:
    monkeypatch.setenv("TESSERA_DISCORD__TOKEN", TOKEN)
    api_base = f"http://{host.format(port=closed_port)}/api/v10"
    monkeypatch.setenv("TESSERA_DISCORD__API_BASE", api_base)
    monkeypatch.setenv("TESSERA_PROVIDER__BASE_URL", f"http://127.0.0.1:{closed_port}/mj")
    monkeypatch.setenv("TESSERA_PROVIDER__CONNECT_TIMEOUT", "0.2")
    assert main(["run"]) == EXIT_UNREACHABLE
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"cannot reach Discord at {api_base} (")
    assert last.endswith(
        "check the network and DNS, or discord.api_base (TESSERA_DISCORD__API_BASE)"
    )


def test_a_badly_formed_token_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TESSERA_DISCORD__TOKEN", "not-a-token")
    assert main(["run"]) == EXIT_CONFIG
    assert "discord.token" in capsys.readouterr().err


def test_no_voice_warnings_at_start(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from typing import cast

    from bot.app import TesseraBot
    from bot.services import Services
    from bot.settings import Settings

    # discord.py warns once per process: make this bot the first one.
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True)
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", True)
    with caplog.at_level(logging.WARNING):
        TesseraBot(settings=Settings(), services=cast("Services", object()))
    assert not [r for r in caplog.records if "voice" in r.getMessage()]
