import base64
from pathlib import Path

import pytest

# The settings tests' autouse fixture: clears TESSERA_* and DISCORD_TOKEN, hides the TOML file.
from tests.test_settings import _clean_env  # noqa: F401

APPLICATION_ID = 123456789012345678
TOKEN = (
    base64.urlsafe_b64encode(str(APPLICATION_ID).encode()).decode().rstrip("=")
    + ".GhIjKl."
    + "Zx9_-abcdefghijklmnopqrstuvwxyz012345"
)


@pytest.fixture(autouse=True)
def database_in_tmp(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No settings leak in from the shell (``_clean_env``); the database lives in tmp_path."""
    request.getfixturevalue("_clean_env")
    monkeypatch.setenv("TESSERA_DATABASE__URL", f"sqlite:///{tmp_path / 'data' / 'tessera.db'}")
