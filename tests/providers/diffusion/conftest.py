"""Tiny random-weight pipelines for the local provider's tests, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.tiny_diffusion import build_tiny_sd, build_tiny_sdxl


@pytest.fixture(scope="session")
def tiny_sd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SD 1.x-style pipeline directory (needs torch)."""
    pytest.importorskip("torch")
    return build_tiny_sd(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture(scope="session")
def tiny_sdxl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SDXL-style pipeline directory (needs torch)."""
    pytest.importorskip("torch")
    return build_tiny_sdxl(tmp_path_factory.mktemp("tiny-sdxl"))
