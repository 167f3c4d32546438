"""Model presets: which diffusion model a ``--v`` / ``--niji`` value renders with, and how."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BUILT_IN_PRESETS = ("turbo", "guided")
"""The presets every server has (``catalog`` defines them); operators may add more."""


class ModelPreset(BaseModel):
    """One model the local provider can render with, and its native settings.

    ``model`` is a Hugging Face repo id (``stabilityai/sd-turbo``), a local directory in
    diffusers format (what ``save_pretrained`` writes), or a single-file ``.safetensors``
    checkpoint.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    family: Literal["auto", "sd", "sdxl"] = "auto"
    """The pipeline family; ``auto`` reads it from the model (needed for single files)."""
    width: int = Field(default=512, ge=64, le=4096, multiple_of=8)
    height: int = Field(default=512, ge=64, le=4096, multiple_of=8)
    """Native size: ``--ar`` keeps this pixel count."""
    steps: int = Field(default=4, ge=1, le=200)
    """Steps at ``--q 1``."""
    guidance: float = Field(default=0.0, ge=0.0, le=30.0)
    """Classifier-free guidance at ``--s 100``; 1 or less means the model runs without CFG."""
    variant: str | None = None
    """Weight variant to prefer (``fp16``), where the repository has one."""
    lora: str | None = None
    """A LoRA fused into the model (e.g. a few-step LCM or Hyper LoRA)."""
    lora_weight_name: str | None = None
    scheduler: Literal["default", "lcm", "euler_ancestral", "dpm"] = "default"
    ip_adapter: str | None = None
    """IP-Adapter repository for ``--sref``; None: ``--sref`` is ignored with a warning."""
    ip_adapter_subfolder: str = "models"
    ip_adapter_weight_name: str | None = None
    licence: str = ""
    """The model's licence as its card states it (shown by ``python -m bot check``)."""

    @property
    def uses_guidance(self) -> bool:
        """Whether the model runs with classifier-free guidance (negative prompts, --stylize)."""
        return self.guidance > 1.0
