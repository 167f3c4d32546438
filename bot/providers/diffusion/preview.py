"""Cheap progress previews: latents to RGB by a linear map, no VAE decode."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
from PIL import Image

from bot.providers.diffusion.pictures import encode_png

PREVIEW_INTERVAL = 1.0
"""Seconds between two previews at least: encoding and sending them is not free."""

# The commonly published least-squares fits from the 4 latent channels to RGB.
SD_LATENT_RGB = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)
SD_LATENT_BIAS = (0.0, 0.0, 0.0)
SDXL_LATENT_RGB = (
    (0.3651, 0.4232, 0.4341),
    (-0.2533, -0.0042, 0.1068),
    (0.1076, 0.1111, -0.0362),
    (-0.3165, -0.2492, -0.2188),
)
SDXL_LATENT_BIAS = (0.1084, -0.0175, -0.0011)


def latents_to_png(latents: torch.Tensor, *, sdxl: bool) -> bytes:
    """A low-resolution PNG of the batch (``[n, 4, h, w]``), images side by side in a grid."""
    factors = torch.tensor(SDXL_LATENT_RGB if sdxl else SD_LATENT_RGB)
    bias = torch.tensor(SDXL_LATENT_BIAS if sdxl else SD_LATENT_BIAS)
    rgb = torch.einsum("nchw,cr->nrhw", latents.detach().float().cpu(), factors)
    rgb = ((rgb + bias.view(1, 3, 1, 1) + 1) * 127.5).clamp(0, 255).to(torch.uint8)
    count, _, height, width = rgb.shape
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = torch.zeros((3, rows * height, columns * width), dtype=torch.uint8)
    for index in range(count):
        row, column = divmod(index, columns)
        grid[:, row * height : (row + 1) * height, column * width : (column + 1) * width] = rgb[
            index
        ]
    return encode_png(Image.fromarray(grid.permute(1, 2, 0).numpy()))


class PreviewThrottle:
    """Says when the next preview is due: at most one per ``interval`` seconds."""

    def __init__(
        self, interval: float = PREVIEW_INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._last = -math.inf

    def due(self) -> bool:
        """Whether a preview may be made now (and, if so, counts it as made)."""
        now = self._clock()
        if now - self._last < self._interval:
            return False
        self._last = now
        return True
