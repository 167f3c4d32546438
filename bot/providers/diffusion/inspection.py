"""What ``python -m bot check`` and ``python -m bot models`` say about the local provider.

The configuration report imports neither torch nor diffusers (``check --offline`` stays
fast); the device report and the download do, and only when asked.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.providers.diffusion.catalog import presets_for
from bot.providers.diffusion.presets import ModelPreset
from bot.settings import DiffusionSettings

log = logging.getLogger(__name__)

Level = Literal["ok", "warning", "error"]
LOCAL_EXTRA = "pip install -e '.[local]'"


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a report, with how bad it is."""

    level: Level
    message: str


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """The device the renderer would use, its dtype and the memory free on it."""

    device: str
    dtype: str
    free_bytes: int | None


def is_local_path(model: str) -> bool:
    """Whether ``model`` names a file or directory rather than a Hugging Face repo id."""
    return model.startswith(("/", "./", "../", "~")) or model.endswith(".safetensors")


def weights_cached(model: str, cache_dir: str | None) -> bool:
    """Whether the weights are on this machine (a local path, or in the Hugging Face cache)."""
    if is_local_path(model):
        return Path(model).expanduser().exists()
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        snapshot_download(model, cache_dir=cache_dir, local_files_only=True)
    except (LocalEntryNotFoundError, OSError, ValueError):
        return False
    return True


def used_presets(settings: DiffusionSettings, *, gpu: bool) -> dict[str, ModelPreset]:
    """The presets some version renders with, by name."""
    presets = presets_for(settings, gpu=gpu)
    return {
        name: presets[name] for name in dict.fromkeys(settings.versions.values()) if name in presets
    }


def configuration_report(settings: DiffusionSettings, *, gpu: bool) -> list[Line]:
    """Presets, versions, licences and cached weights, without importing torch."""
    lines: list[Line] = []
    missing = [name for name in ("torch", "diffusers", "transformers") if not _installed(name)]
    if missing:
        lines.append(
            Line("error", f"diffusion: {', '.join(missing)} not installed; run {LOCAL_EXTRA}")
        )
    offline = _offline()
    for name, preset in used_presets(settings, gpu=gpu).items():
        versions = ", ".join(key for key, used in settings.versions.items() if used == name)
        level, cached = _weights_line(preset, settings.cache_dir, offline=offline)
        lines.append(
            Line(
                level,
                f"diffusion preset {name} ({versions}): {preset.model}, {preset.steps} steps, "
                f"{preset.width}x{preset.height}; weights {cached}; licence: "
                f"{preset.licence or 'see the model card'}",
            )
        )
    return lines


def _weights_line(
    preset: ModelPreset, cache_dir: str | None, *, offline: bool
) -> tuple[Level, str]:
    local = is_local_path(preset.model)
    if not local and not _installed("huggingface_hub"):
        return "warning", "unknown (huggingface_hub is not installed)"
    if weights_cached(preset.model, cache_dir):
        return "ok", "cached"
    if local:
        return "error", "missing: the path does not exist"
    if offline:
        return "error", "not cached, and HF_HUB_OFFLINE is set, so they cannot be downloaded"
    return "warning", "not cached: downloaded on first use, or now with `python -m bot models`"


def device_info(settings: DiffusionSettings) -> DeviceInfo:
    """The device and dtype the worker would choose, and its free memory (imports torch)."""
    from bot.providers.diffusion.devices import choose_device, free_memory

    device, dtype = choose_device(settings.device, settings.dtype)
    return DeviceInfo(device=device, dtype=dtype, free_bytes=free_memory(device))


def download_weights(preset: ModelPreset, cache_dir: str | None) -> None:
    """Fetch a preset's weights into the cache, with huggingface_hub's progress bars."""
    if _offline():
        raise OSError("HF_HUB_OFFLINE is set: unset it to download weights")
    if not is_local_path(preset.model):
        from diffusers import DiffusionPipeline

        DiffusionPipeline.download(preset.model, variant=preset.variant, cache_dir=cache_dir)
    from huggingface_hub import hf_hub_download, snapshot_download

    if preset.lora is not None:
        snapshot_download(
            preset.lora, cache_dir=cache_dir, allow_patterns=["*.safetensors", "*.json"]
        )
    if preset.ip_adapter is not None and preset.ip_adapter_weight_name is not None:
        subfolder = preset.ip_adapter_subfolder
        hf_hub_download(
            preset.ip_adapter,
            preset.ip_adapter_weight_name,
            subfolder=subfolder,
            cache_dir=cache_dir,
        )
        snapshot_download(
            preset.ip_adapter, cache_dir=cache_dir, allow_patterns=[f"{subfolder}/image_encoder/*"]
        )


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
