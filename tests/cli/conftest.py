import base64
import os
from pathlib import Path

import pytest

APPLICATION_ID = 123456789012345678
TOKEN = (
    base64.urlsafe_b64encode(str(APPLICATION_ID).encode()).decode().rstrip("=")
    + ".GhIjKl."
    + "Zx9_-abcdefghijklmnopqrstuvwxyz012345"
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No settings leak in from the developer's shell; the TOML file is absent."""
    for name in list(os.environ):
        if name.startswith("TESSERA_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)
    monkeypatch.setenv("TESSERA_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("TESSERA_DATABASE__URL", f"sqlite:///{tmp_path / 'data' / 'tessera.db'}")
