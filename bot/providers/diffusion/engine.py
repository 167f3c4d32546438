"""The render engine the worker process calls: ``Renderer.load`` and ``Renderer.render``.

Imports torch and diffusers (seconds, hundreds of MB): only the worker imports this module.
A renderer owns its pipelines and runs one render at a time (``--tile`` and ``--stop``
change module and scheduler state for the length of a call).
"""

from __future__ import annotations

import gc
import logging
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from PIL import Image

from bot.providers.diffusion import pictures
from bot.providers.diffusion.batching import batch_key
from bot.providers.diffusion.conditioning import build_conditioning, concatenate
from bot.providers.diffusion.devices import choose_device
from bot.providers.diffusion.errors import (
    DeviceOutOfMemory,
    RenderError,
    RenderFailed,
)
from bot.providers.diffusion.loading import (
    LoadOptions,
    load_pipeline,
)
from bot.providers.diffusion.presets import ModelPreset
from bot.providers.diffusion.preview import PreviewThrottle
from bot.providers.diffusion.spec import RenderJob, RenderMode, RenderResult
from bot.providers.diffusion.stepping import OnStep, ShouldStop, StepLoop
from bot.providers.diffusion.tiling import circular_padding

log = logging.getLogger(__name__)

OOM_ADVICE = "try a smaller --ar, a lower --q, or --draft"
_T = TypeVar("_T")


@dataclass(slots=True)
class _Loaded:
    """A preset's pipeline and the img2img/inpaint pipelines derived from it (shared weights)."""

    text: Any
    image: Any = None
    inpaint: Any = None
    ip_adapter: bool = False


class Renderer:
    """Renders ``RenderJob``s, one at a time, with the presets' pipelines it loads.

    At most ``max_loaded`` pipelines stay loaded; the least recently used goes first.
    ``threads`` sets torch's CPU thread count for the whole process (None: torch's default).
    """

    def __init__(
        self,
        *,
        device: str = "auto",
        dtype: str = "auto",
        cache_dir: str | None = None,
        cpu_offload: bool = False,
        attention_slicing: bool = False,
        vae_tiling: bool = False,
        local_files_only: bool = False,
        max_loaded: int = 1,
        threads: int | None = None,
    ) -> None:
        if threads is not None:
            # Process-wide. On a CPU shared with other work, fewer threads than cores avoids
            # OpenMP spin-waiting: a tiny render measured 0.26 s on 1 thread, 2.2 s on 2
            # while other processes kept both cores busy.
            torch.set_num_threads(threads)
        # ValueError for a device this machine lacks: the worker reports it as one line.
        resolved, resolved_dtype = choose_device(device, dtype)
        self._options = LoadOptions(
            device=resolved,
            dtype=resolved_dtype,
            cache_dir=cache_dir,
            cpu_offload=cpu_offload,
            attention_slicing=attention_slicing,
            vae_tiling=vae_tiling,
            local_files_only=local_files_only,
        )
        self._max_loaded = max(1, max_loaded)
        self._loaded: OrderedDict[ModelPreset, _Loaded] = OrderedDict()

    @property
    def device(self) -> str:
        """The resolved device: ``cuda``, ``mps`` or ``cpu``."""
        return self._options.device

    @property
    def dtype(self) -> str:
        """The resolved dtype name: ``float16``, ``bfloat16`` or ``float32``."""
        return self._options.dtype

    def load(self, preset: ModelPreset) -> None:
        """Load ``preset``'s pipeline now (``render`` loads on demand otherwise)."""
        self._entry(preset)

    def render(self, job: RenderJob, *, on_step: OnStep, should_stop: ShouldStop) -> RenderResult:
        """Render ``job``, reporting ``on_step(step, total, preview_png_or_none)`` each step.

        ``should_stop()`` returning true cancels the render with ``RenderCancelled``.
        Raises ``DeviceOutOfMemory``, ``WeightsUnavailable`` and ``RenderFailed``; nothing
        else escapes, so the worker can send every failure back as it is.
        """
        return self._guarded(job.task_id, lambda: self._render(job, on_step, should_stop))

    def render_batch(
        self, jobs: Sequence[RenderJob], *, on_step: OnStep, should_stop: ShouldStop
    ) -> list[RenderResult]:
        """Render jobs of one ``batch_key`` in one pipeline call: one result per job, in order.

        Each job's images match what ``render`` gives it alone, up to the float noise of a
        larger batch. ``on_step`` reports the call's steps; previews show the first job.
        Raises as ``render`` does, for the whole batch.
        """
        keys = {batch_key(job) for job in jobs}
        if not jobs or None in keys or len(keys) > 1:
            raise RenderFailed("These jobs cannot render in one batch.")
        label = ",".join(job.task_id for job in jobs)
        return self._guarded(label, lambda: self._render_batch(jobs, on_step, should_stop))

    def _guarded(self, label: str, work: Callable[[], _T]) -> _T:
        try:
            return work()
        except RenderError:
            raise
        except torch.OutOfMemoryError as exc:
            raise self._out_of_memory() from exc
        except RuntimeError as exc:
            if "out of memory" in str(exc).lower():
                raise self._out_of_memory() from exc
            log.exception("render %s failed", label)
            raise RenderFailed(f"The render failed: {exc}") from exc
        except Exception as exc:
            log.exception("render %s failed", label)
            raise RenderFailed(f"The render failed: {exc}") from exc

    def _render_batch(
        self, jobs: Sequence[RenderJob], on_step: OnStep, should_stop: ShouldStop
    ) -> list[RenderResult]:
        first = jobs[0]
        entry = self._entry(first.preset)
        style = self._style_kwargs(entry, first)  # no --sref in a batch: scale 0 if loaded
        pipe, call = self._call_for(entry, first)
        parts = [build_conditioning(pipe, job) for job in jobs]
        call.update(concatenate(pipe, parts, first.guidance).call_kwargs())
        call.update(style)
        seeds = [seed for job in jobs for seed in job.seeds]
        images, steps_run = self._call(pipe, call, first, seeds, on_step, should_stop)
        results, start = [], 0
        for job in jobs:
            mine = images[start : start + len(job.seeds)]
            start += len(job.seeds)
            results.append(self._result(mine, steps_run))
        return results

    def _render(self, job: RenderJob, on_step: OnStep, should_stop: ShouldStop) -> RenderResult:
        entry = self._entry(job.preset)
        # The adapter first: loading it resets the derived pipelines _call_for picks from.
        style = self._style_kwargs(entry, job)
        pipe, call = self._call_for(entry, job)
        call.update(build_conditioning(pipe, job).call_kwargs())
        call.update(style)
        images, steps_run = self._call(pipe, call, job, job.seeds, on_step, should_stop)
        return self._result(images, steps_run)

    def _call(
        self,
        pipe: Any,
        call: dict[str, Any],
        job: RenderJob,
        seeds: Sequence[int],
        on_step: OnStep,
        should_stop: ShouldStop,
    ) -> tuple[list[Image.Image], int]:
        """One pipeline call for ``seeds``, with ``job``'s guidance, stop and tile."""
        loop = StepLoop(
            on_step=on_step,
            should_stop=should_stop,
            stop_at=job.stop_at,
            sdxl=getattr(pipe, "text_encoder_2", None) is not None,
            throttle=PreviewThrottle(),
            preview_rows=len(job.seeds),
        )
        # CPU generators draw the same noise whatever the device: a seed replays anywhere.
        generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
        with (
            loop.estimates(pipe.scheduler),
            circular_padding(pipe.unet, pipe.vae, enabled=job.tile),
        ):
            output = pipe(
                guidance_scale=job.guidance,
                generator=generators,
                callback_on_step_end=loop,
                callback_on_step_end_tensor_inputs=["latents"],
                output_type="pil",
                **call,
            )
        images = [image if image.mode == "RGB" else image.convert("RGB") for image in output.images]
        return images, loop.steps_run

    @staticmethod
    def _result(images: Sequence[Image.Image], steps_run: int) -> RenderResult:
        return RenderResult(
            pixels=tuple(image.tobytes() for image in images),
            width=images[0].width,
            height=images[0].height,
            steps_run=steps_run,
        )

    def _call_for(self, entry: _Loaded, job: RenderJob) -> tuple[Any, dict[str, Any]]:
        """The pipeline for the job's mode and its mode-specific arguments."""
        size = {"width": job.width, "height": job.height}
        if job.mode is RenderMode.TEXT:
            return entry.text, {**size, "num_inference_steps": job.steps}
        if not job.init_images:
            raise RenderFailed(f"A {job.mode} render needs an init image.")
        inits = [pictures.decode_rgb(data) for data in job.init_images]
        if len(inits) == 1:
            inits = inits * len(job.seeds)
        strength = min(1.0, max(job.strength, 0.01))
        # img2img runs steps x strength of the schedule: keep at least one real step.
        steps = max(job.steps, math.ceil(1 / strength))
        common = {"strength": strength, "num_inference_steps": steps}
        if job.mode is RenderMode.IMAGE:
            if entry.image is None:
                from diffusers import AutoPipelineForImage2Image

                entry.image = AutoPipelineForImage2Image.from_pipe(entry.text)
                entry.image.set_progress_bar_config(disable=True)
            resized = [
                image.resize((job.width, job.height), Image.Resampling.LANCZOS) for image in inits
            ]
            return entry.image, {**common, "image": resized}
        if entry.inpaint is None:
            from diffusers import AutoPipelineForInpainting

            # A 4-channel (non-inpainting) UNet inpaints by blending the kept latents back in
            # at every step, which is all outpainting needs.
            entry.inpaint = AutoPipelineForInpainting.from_pipe(entry.text)
            entry.inpaint.set_progress_bar_config(disable=True)
        canvas = job.canvas
        pads = (
            (0, 0, 0, 0)
            if canvas is None
            else (canvas.left, canvas.top, canvas.right, canvas.bottom)
        )
        images, masks = zip(
            *(pictures.outpaint_canvas(image, pads, (job.width, job.height)) for image in inits),
            strict=True,
        )
        return entry.inpaint, {**common, **size, "image": list(images), "mask_image": list(masks)}

    def _style_kwargs(self, entry: _Loaded, job: RenderJob) -> dict[str, Any]:
        """IP-Adapter arguments for ``--sref``; once loaded, jobs without one pass scale 0."""
        preset = job.preset
        if preset.ip_adapter is None or not (job.style_images or entry.ip_adapter):
            return {}
        if not entry.ip_adapter:
            entry.text.load_ip_adapter(
                preset.ip_adapter,
                subfolder=preset.ip_adapter_subfolder,
                weight_name=preset.ip_adapter_weight_name,
                cache_dir=self._options.cache_dir,
                local_files_only=self._options.local_files_only,
            )
            entry.ip_adapter = True
            # Derived pipelines were built without the image encoder: build them again.
            entry.image = entry.inpaint = None
        if job.style_images:
            images = [pictures.decode_rgb(data) for data in job.style_images]
            scale = job.style_scale
        else:
            images, scale = [Image.new("RGB", (224, 224), (127, 127, 127))], 0.0
        entry.text.set_ip_adapter_scale(scale)
        return {"ip_adapter_image": [images]}

    def _entry(self, preset: ModelPreset) -> _Loaded:
        entry = self._loaded.get(preset)
        if entry is not None:
            self._loaded.move_to_end(preset)
            return entry
        while len(self._loaded) >= self._max_loaded:
            evicted, _ = self._loaded.popitem(last=False)
            log.info("unloading %s to make room", evicted.model)
            self._release_memory()
        entry = _Loaded(text=load_pipeline(preset, self._options))
        self._loaded[preset] = entry
        return entry

    def _out_of_memory(self) -> DeviceOutOfMemory:
        self._release_memory()
        return DeviceOutOfMemory(
            f"The {self.device} ran out of memory for this render: {OOM_ADVICE}."
        )

    def _release_memory(self) -> None:
        gc.collect()
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
