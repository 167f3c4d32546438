"""Fixtures shared across the tree: the tiny random-weight diffusion models, the databases."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.postgres import ENGINES, database_url_for


def pytest_configure(config: pytest.Config) -> None:
    """With ``TESSERA_REQUIRE_TORCH=1`` (CI's main run), a missing torch fails the run.

    Without torch the local provider's tests skip themselves; CI must not pass that way.
    """
    if os.environ.get("TESSERA_REQUIRE_TORCH") == "1" and importlib.util.find_spec("torch") is None:
        raise pytest.UsageError(
            "TESSERA_REQUIRE_TORCH=1 but torch is not installed: pip install -e '.[test]'"
        )


@pytest.fixture(scope="session")
def tiny_sd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Stable Diffusion pipeline saved as a model directory (built once per run)."""
    pytest.importorskip("torch", reason="the local provider's tests need torch (the local extra)")
    from tests.fakes.tiny_diffusion import build_tiny_sd

    return build_tiny_sd(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture(scope="session")
def tiny_sdxl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SDXL pipeline saved as a model directory (built once per run)."""
    pytest.importorskip("torch", reason="the local provider's tests need torch (the local extra)")
    from tests.fakes.tiny_diffusion import build_tiny_sdxl

    return build_tiny_sdxl(tmp_path_factory.mktemp("tiny-sdxl"))


@pytest.fixture(params=ENGINES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database: once on SQLite, once on PostgreSQL."""
    async with database_url_for(request.param, str(tmp_path)) as url:
        yield url
