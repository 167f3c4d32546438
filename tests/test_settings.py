import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.errors import ConfigError
from bot.settings import Settings, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TESSERA_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)
    # No config/tessera.toml in the working directory: only what a test writes is read.
    monkeypatch.chdir(tmp_path)


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


# The example configuration and the README document every setting.

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "config" / "tessera.example.toml"
README = REPO / "README.md"


def _setting_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths.extend(_setting_paths(annotation, (*prefix, name)))
        else:
            paths.append((*prefix, name))
    return paths


SETTING_PATHS = _setting_paths(Settings)
SECRET_PATHS = {("discord", "token"), ("provider", "api_secret")}


def _example_keys() -> set[tuple[str, ...]]:
    """Every key the example sets, or shows commented out (``# key = value``) in its table."""
    keys: set[tuple[str, ...]] = set()
    table: tuple[str, ...] = ()
    for raw in EXAMPLE.read_text().splitlines():
        line = raw.strip()
        if match := re.fullmatch(r"\[([a-z_.]+)\]", line):
            table = tuple(match[1].split("."))
            keys.add(table)
        elif match := re.match(r"#?\s*([a-z_]+)\s*=", line):
            keys.add((*table, match[1]))
    return keys


def test_example_configuration_loads_and_states_the_defaults() -> None:
    assert load_settings(EXAMPLE) == Settings()


@pytest.mark.parametrize("path", SETTING_PATHS, ids=".".join)
def test_example_configuration_shows_every_setting(path: tuple[str, ...]) -> None:
    text = EXAMPLE.read_text()
    if path in SECRET_PATHS:
        # Secrets are env-only: the example names the variable instead of the key.
        assert "TESSERA_" + "__".join(part.upper() for part in path) in text
        assert path not in _example_keys()
    else:
        assert path in _example_keys()


@pytest.mark.parametrize("path", SETTING_PATHS, ids=".".join)
def test_readme_reference_covers_every_setting(path: tuple[str, ...]) -> None:
    reference = README.read_text().split("## Configuration reference", 1)[-1]
    assert f"`{'.'.join(path)}`" in reference
    assert f"`TESSERA_{'__'.join(part.upper() for part in path)}`" in reference


def test_a_config_file_that_was_named_must_exist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TESSERA_CONFIG", str(tmp_path / "tesera.toml"))
    with pytest.raises(ConfigError, match=r"tesera\.toml: the configuration file does not exist"):
        load_settings()
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_the_default_config_file_is_optional() -> None:
    assert load_settings().provider.base_url == "http://127.0.0.1:8080/mj"


def test_dotenv_in_the_working_directory_is_read_below_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "# compose's own keys sit here too\n"
        "MJ_DISCORD_USER_TOKEN=not-a-setting\n"
        "DISCORD_TOKEN=from-dotenv\n"
        "TESSERA_DIFFUSION__DEVICE=cpu\n"
        "TESSERA_DIFFUSION__STEPS=3\n"
    )
    monkeypatch.delenv("TESSERA_DISCORD__TOKEN", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("TESSERA_DIFFUSION__STEPS", "5")
    settings = load_settings()
    assert settings.diffusion.device == "cpu"
    assert settings.diffusion.steps == 5
    assert settings.discord.token is not None
    assert settings.discord.token.get_secret_value() == "from-dotenv"


# Gateway sharding (issue #12): several processes split the shards of one bot.


def test_shard_settings_come_from_the_environment_as_a_json_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TESSERA_DISCORD__SHARD_COUNT", "2")
    monkeypatch.setenv("TESSERA_DISCORD__SHARD_IDS", "[1]")
    settings = load_settings()
    assert settings.discord.shard_count == 2
    assert settings.discord.shard_ids == (1,)


def test_sharding_is_off_by_default() -> None:
    assert (Settings().discord.shard_count, Settings().discord.shard_ids) == (None, None)


def test_a_shard_count_alone_runs_every_shard_here() -> None:
    settings = Settings(discord={"shard_count": 3})
    assert (settings.discord.shard_count, settings.discord.shard_ids) == (3, None)


@pytest.mark.parametrize(
    ("count", "ids", "problem"),
    [
        (None, "[0]", "discord.shard_ids: needs discord.shard_count too"),
        ("2", "[0, 2]", "discord.shard_ids: ids go from 0 to 1 (shard_count is 2); 2 is not"),
        ("2", "[-1, 5, 0]", "discord.shard_ids: ids go from 0 to 1 (shard_count is 2); -1, 5 are"),
        ("3", "[1, 2, 1]", "discord.shard_ids: 1 is listed more than once"),
        ("2", "[]", "discord.shard_ids: empty; list this process's shards"),
        ("0", None, "discord.shard_count: Input should be greater than or equal to 1"),
    ],
)
def test_bad_shard_settings_get_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, count: str | None, ids: str | None, problem: str
) -> None:
    if count is not None:
        monkeypatch.setenv("TESSERA_DISCORD__SHARD_COUNT", count)
    if ids is not None:
        monkeypatch.setenv("TESSERA_DISCORD__SHARD_IDS", ids)
    with pytest.raises(ConfigError) as info:
        load_settings()
    [line] = info.value.problems
    assert line.startswith(problem)
    assert "Value error" not in line


def test_an_invalid_shard_count_is_reported_once_not_again_for_the_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TESSERA_DISCORD__SHARD_COUNT", "none")
    monkeypatch.setenv("TESSERA_DISCORD__SHARD_IDS", "[0]")
    with pytest.raises(ConfigError) as info:
        load_settings()
    [line] = info.value.problems
    assert line.startswith("discord.shard_count:")


def test_shard_settings_are_read_from_the_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "tessera.toml"
    path.write_text("[discord]\nshard_count = 4\nshard_ids = [2, 3]\n")
    settings = load_settings(path)
    assert (settings.discord.shard_count, settings.discord.shard_ids) == (4, (2, 3))
