"""Fixtures shared across the tree: the tiny random-weight diffusion models."""

from __future__ import annotations

from pathlib import Path

import pytest


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
