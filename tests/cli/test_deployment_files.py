"""The Dockerfile and .env.example only set settings that exist, with valid values."""

import re
import shlex
from pathlib import Path

import pytest

from bot.settings import load_settings

REPO = Path(__file__).resolve().parents[2]


def _dockerfile_env() -> dict[str, str]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for item in shlex.split(line[len("ENV ") :]):
                name, _, value = item.partition("=")
                pairs[name] = value
    return pairs


def _env_example(*, include_commented: bool) -> dict[str, str]:
    pairs = {}
    for raw in (REPO / ".env.example").read_text().splitlines():
        line = raw.removeprefix("# ") if include_commented else raw
        if match := re.fullmatch(r"(TESSERA_[A-Z_]+)=(.*)", line):
            pairs[match[1]] = match[2]
    return pairs


def test_the_image_environment_is_valid_and_enables_the_health_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {k: v for k, v in _dockerfile_env().items() if k.startswith("TESSERA_")}
    assert env
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.metrics.enabled
    assert settings.database.url == "sqlite:////app/data/tessera.db"


def test_the_image_runs_the_cli_and_checks_health_through_it() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    assert re.search(r"^USER tessera$", text, re.MULTILINE)
    assert 'VOLUME ["/app/data", "/app/models"]' in text
    assert 'ENTRYPOINT ["python", "-m", "bot"]' in text
    assert 'CMD ["python", "-m", "bot", "health"]' in text


@pytest.mark.parametrize("include_commented", [False, True])
def test_env_example_names_only_real_settings(
    monkeypatch: pytest.MonkeyPatch, include_commented: bool
) -> None:
    pairs = _env_example(include_commented=include_commented)
    assert "TESSERA_DISCORD__TOKEN" in pairs
    for name, value in pairs.items():
        monkeypatch.setenv(name, value or "x")
    settings = load_settings()
    if include_commented:
        assert settings.provider.base_url == "http://midjourney-proxy:8080/mj"
        assert settings.provider.selected_kind == "midjourney-proxy"
    else:
        # A newcomer's .env: only the token, and the local model renders.
        assert settings.provider.selected_kind == "diffusion"


def test_the_image_installs_dependencies_before_the_code() -> None:
    lines = (REPO / "Dockerfile").read_text().splitlines()
    first_code = next(i for i, line in enumerate(lines) if line.startswith("COPY bot "))
    installs = [i for i, line in enumerate(lines) if "pip install -r /tmp/requirements.txt" in line]
    assert installs
    assert installs[0] < first_code
    assert "COPY pyproject.toml ./" in lines[: installs[0]]
