"""``--tile``: circular padding in every convolution, so the image wraps at its edges."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch


@contextmanager
def circular_padding(*models: Any, enabled: bool = True) -> Iterator[None]:
    """Every ``Conv2d`` of ``models`` pads circularly inside the block, as before after it.

    This changes module state: one render at a time may use the models meanwhile.
    """
    if not enabled:
        yield
        return
    saved: list[tuple[torch.nn.Conv2d, Any]] = []
    try:
        for model in models:
            for module in model.modules():
                if isinstance(module, torch.nn.Conv2d):
                    saved.append((module, module.padding_mode))
                    module.padding_mode = "circular"
        yield
    finally:
        for module, mode in saved:
            module.padding_mode = mode
