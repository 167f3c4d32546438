"""One pipeline call's step loop: progress, previews, cancellation and ``--stop``.

Everything here hangs on diffusers' ``callback_on_step_end``: the pipeline stays unmodified
apart from the scheduler's ``step``, wrapped for the length of one call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from bot.providers.diffusion.errors import RenderCancelled
from bot.providers.diffusion.preview import PreviewThrottle, latents_to_png

OnStep = Callable[[int, int, bytes | None], None]
ShouldStop = Callable[[], bool]


class StepLoop:
    """The ``callback_on_step_end`` of one call; ``steps_run`` counts the steps it saw.

    ``stop_at`` < 1 ends the loop after ``ceil(stop_at * steps)`` steps and swaps the
    latents for the scheduler's estimate of the finished image at that point (what the
    pipeline then decodes), as Midjourney's ``--stop`` returns a blurrier early image.
    """

    def __init__(
        self,
        *,
        on_step: OnStep,
        should_stop: ShouldStop,
        stop_at: float,
        sdxl: bool,
        throttle: PreviewThrottle,
        preview_rows: int | None = None,
    ) -> None:
        self._on_step = on_step
        self._should_stop = should_stop
        self._stop_at = stop_at
        self._sdxl = sdxl
        self._throttle = throttle
        self._preview_rows = preview_rows
        """The first rows of a batch the previews show (one job's images); None: all."""
        self._estimate: torch.Tensor | None = None
        self.steps_run = 0

    def planned(self, total: int) -> int:
        """How many of the call's ``total`` denoising steps will run."""
        return max(1, min(total, math.ceil(self._stop_at * total - 1e-9)))

    def __call__(
        self, pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]
    ) -> dict[str, Any]:
        """Report step ``step`` (0-based) and decide whether the loop goes on."""
        if self._should_stop():
            # Raised inside the loop: the remaining steps and the VAE decode are skipped.
            raise RenderCancelled("cancelled")
        planned = self.planned(int(pipe.num_timesteps))
        self.steps_run = step + 1
        last = self.steps_run >= planned
        preview = None
        if not last and self._throttle.due():
            latents = tensors["latents"][: self._preview_rows]
            preview = latents_to_png(latents, sdxl=self._sdxl)
        self._on_step(self.steps_run, planned, preview)
        if last and planned < pipe.num_timesteps:
            # diffusers skips the remaining iterations once interrupted, then decodes.
            pipe._interrupt = True
            if self._estimate is not None:
                tensors["latents"] = self._estimate.to(tensors["latents"].dtype)
        return tensors

    @contextmanager
    def estimates(self, scheduler: Any) -> Iterator[None]:
        """Keep the scheduler's latest clean-image estimate while the block runs.

        Schedulers that give none (DPM-Solver) leave the current latents to be decoded.
        """
        if self._stop_at >= 1.0:
            yield
            return
        original = scheduler.step

        def step(*args: Any, **kwargs: Any) -> Any:
            wanted_dict = kwargs.pop("return_dict", True)
            output = original(*args, return_dict=True, **kwargs)
            estimate = getattr(output, "pred_original_sample", None)
            if estimate is None:
                estimate = getattr(output, "denoised", None)
            self._estimate = estimate
            return output if wanted_dict else (output.prev_sample,)

        scheduler.step = step
        try:
            yield
        finally:
            del scheduler.step  # the instance attribute goes; the class method is back
