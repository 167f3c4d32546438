from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TESSERA_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)
    monkeypatch.setenv("TESSERA_CONFIG", str(tmp_path / "absent.toml"))


def test_environment_uses_prefix_and_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_PROVIDER__BASE_URL", "http://proxy:8080/mj")
    monkeypatch.setenv("TESSERA_PROVIDER__MAX_CONCURRENCY", "7")
    settings = load_settings()
    assert settings.provider.base_url == "http://proxy:8080/mj"
    assert settings.provider.max_concurrency == 7
    assert settings.database.url == "sqlite:///data/tessera.db"


def test_discord_token_is_accepted_and_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "very-secret")
    settings = load_settings()
    assert settings.discord.token is not None
    assert settings.discord.token.get_secret_value() == "very-secret"
    assert "very-secret" not in repr(settings)


def test_toml_file_is_read_below_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "tessera.toml"
    path.write_text('[provider]\nbase_url = "http://file/mj"\npoll_interval = 1.5\n')
    monkeypatch.setenv("TESSERA_PROVIDER__BASE_URL", "http://env/mj")
    settings = load_settings(path)
    assert settings.provider.base_url == "http://env/mj"
    assert settings.provider.poll_interval == 1.5


def test_secrets_in_the_toml_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "tessera.toml"
    path.write_text('[discord]\ntoken = "abc"\n')
    with pytest.raises(ConfigError, match="TESSERA_DISCORD__TOKEN"):
        load_settings(path)


def test_bad_and_unknown_settings_get_one_line_each(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "tessera.toml"
    path.write_text("[provider]\npoll_intervall = 2\nmax_concurrency = 0\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    problems = info.value.problems
    assert any("poll_intervall" in line and "unknown setting" in line for line in problems)
    assert any("max_concurrency" in line for line in problems)
    assert len(problems) == 2
