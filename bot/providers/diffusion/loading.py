"""Loading a preset's pipeline: device and dtype, weights, LoRA, scheduler, memory switches.

Imports torch and diffusers: only the worker process imports this module.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bot.providers.diffusion.errors import RenderFailed, WeightsUnavailable
from bot.providers.diffusion.presets import ModelPreset

log = logging.getLogger(__name__)

DOWNLOAD_HINT = "python -m bot models"

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """How every pipeline of one renderer is loaded and placed."""

    device: str
    dtype: str
    cache_dir: str | None = None
    cpu_offload: bool = False
    attention_slicing: bool = False
    vae_tiling: bool = False
    local_files_only: bool = False


def torch_dtype(name: str) -> torch.dtype:
    """The torch dtype of a resolved dtype name."""
    return _DTYPES[name]


def load_pipeline(preset: ModelPreset, options: LoadOptions) -> Any:
    """The preset's text-to-image pipeline, placed on the device, ready to call.

    Weights that are not on this machine (or may not be downloaded) raise
    ``WeightsUnavailable`` with one line saying how to get them.
    """
    try:
        pipe = _from_weights(preset, options)
    except (OSError, ValueError) as exc:
        raise WeightsUnavailable(_unavailable(preset.model, options)) from exc
    if preset.lora is not None:
        _fuse_lora(pipe, preset, options)
    _set_scheduler(pipe, preset.scheduler)
    pipe.set_progress_bar_config(disable=True)
    if options.attention_slicing:
        pipe.enable_attention_slicing()
    if options.vae_tiling:
        pipe.vae.enable_tiling()
    if options.cpu_offload and options.device.startswith("cuda"):
        # Offload moves each model to the GPU only while it runs: slower, far less VRAM.
        pipe.enable_model_cpu_offload()
    else:
        pipe.to(options.device)
    return pipe


def _from_weights(preset: ModelPreset, options: LoadOptions) -> Any:
    import diffusers

    pipeline_class: Any = diffusers.DiffusionPipeline  # untyped in diffusers
    dtype = torch_dtype(options.dtype)
    model = preset.model
    if model.endswith(".safetensors"):
        if not Path(model).is_file():
            raise FileNotFoundError(model)
        family = preset.family if preset.family != "auto" else _guess_family(model)
        single: Any = (
            diffusers.StableDiffusionXLPipeline
            if family == "sdxl"
            else diffusers.StableDiffusionPipeline
        )
        kwargs: dict[str, Any] = {_DTYPE_KEYWORD: dtype}
        if family == "sd":
            kwargs.update(safety_checker=None, requires_safety_checker=False)
        return single.from_single_file(model, local_files_only=options.local_files_only, **kwargs)
    if _looks_like_path(model) and not Path(model).is_dir():
        raise FileNotFoundError(model)
    kwargs = {
        _DTYPE_KEYWORD: dtype,
        "variant": preset.variant,
        "cache_dir": options.cache_dir,
        "local_files_only": options.local_files_only,
    }
    config = _model_index(model, options)
    if "safety_checker" in config:
        # SD 1.x/2.x repositories may list a safety checker this bot does not run (SDXL
        # pipelines take no such argument, and a directory may have none).
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    try:
        return pipeline_class.from_pretrained(model, **kwargs)
    except OSError:
        if preset.variant is None:
            raise
        # A repository without the preferred variant still has the plain weights.
        kwargs["variant"] = None
        return pipeline_class.from_pretrained(model, **kwargs)


def _model_index(model: str, options: LoadOptions) -> dict[str, Any]:
    """The pipeline's ``model_index.json``: which components it has.

    Read from the directory, else from the hub cache (only the cache when downloads are off).
    """
    if Path(model).is_dir():
        index = Path(model) / "model_index.json"
    else:
        from huggingface_hub import hf_hub_download

        index = Path(
            hf_hub_download(
                model,
                "model_index.json",
                cache_dir=options.cache_dir,
                local_files_only=options.local_files_only,
            )
        )
    config: dict[str, Any] = json.loads(index.read_text(encoding="utf-8"))
    return config


def _dtype_keyword() -> str:
    # diffusers renamed ``torch_dtype`` to ``dtype`` and warns on the old name; older releases
    # (the extra allows >= 0.31) know only ``torch_dtype``.
    from diffusers.utils import deprecation_utils

    return "dtype" if hasattr(deprecation_utils, "_resolve_dtype") else "torch_dtype"


_DTYPE_KEYWORD = _dtype_keyword()


def _guess_family(path: str) -> str:
    """SDXL checkpoints carry a second text encoder (``conditioner.embedders.1``)."""
    from safetensors import safe_open

    with safe_open(path, framework="pt") as checkpoint:
        keys = checkpoint.keys()
    return "sdxl" if any(key.startswith("conditioner.embedders.1") for key in keys) else "sd"


def _looks_like_path(model: str) -> bool:
    # A repository id is ``owner/name`` (or a bare legacy name); anything else is a path.
    return model.startswith(("/", ".", "~")) or Path(model).exists() or model.count("/") > 1


def _unavailable(model: str, options: LoadOptions) -> str:
    if Path(model).exists():
        return f"{model} is not a diffusers model directory or checkpoint: check the preset."
    if _looks_like_path(model):
        return f"The model {model} was not found on this machine: check the preset's path."
    offline = " (downloads are off)" if options.local_files_only else ""
    return (
        f"The model {model} is not downloaded on this machine{offline}: "
        f"run `{DOWNLOAD_HINT}` first."
    )


def _fuse_lora(pipe: Any, preset: ModelPreset, options: LoadOptions) -> None:
    try:
        pipe.load_lora_weights(
            preset.lora,
            weight_name=preset.lora_weight_name,
            cache_dir=options.cache_dir,
            local_files_only=options.local_files_only,
        )
    except OSError as exc:
        raise WeightsUnavailable(_unavailable(str(preset.lora), options)) from exc
    except ValueError as exc:  # diffusers says so when peft is missing
        raise RenderFailed(f"The LoRA {preset.lora} could not be loaded: {exc}") from exc
    # Fusing folds the LoRA into the weights once: no per-step adapter cost.
    pipe.fuse_lora()


def _set_scheduler(pipe: Any, name: str) -> None:
    if name == "default":
        return
    import diffusers

    classes = {
        "lcm": diffusers.LCMScheduler,
        "euler_ancestral": diffusers.EulerAncestralDiscreteScheduler,
        "dpm": diffusers.DPMSolverMultistepScheduler,
    }
    pipe.scheduler = classes[name].from_config(pipe.scheduler.config)
