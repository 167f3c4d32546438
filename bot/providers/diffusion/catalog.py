"""The built-in model presets and how a prompt's ``--v`` / ``--niji`` picks one.

Licences as the model cards state them (the weights are the operator's download):
- ``stabilityai/sd-turbo`` and ``stabilityai/sdxl-turbo``: Stability AI Community License
  (research and non-commercial use; commercial use under the terms at stability.ai/license).
- ``stable-diffusion-v1-5/stable-diffusion-v1-5``: CreativeML OpenRAIL-M.
- ``latent-consistency/lcm-lora-sdv1-5``: OpenRAIL++.
"""

from __future__ import annotations

from bot.errors import FailureKind, ProviderRejected
from bot.prompt import DEFAULT_VERSION, Prompt
from bot.providers.diffusion.presets import ModelPreset
from bot.settings import DiffusionSettings

STABILITY_COMMUNITY = "Stability AI Community License (commercial use: see stability.ai/license)"

# SDXL-Turbo needs ~7 GB in fp16: a GPU's default. SD-Turbo is the CPU's (about half a
# minute a grid there in bf16). Both are guidance-free, 512x512, best at 1-4 steps.
TURBO_GPU = ModelPreset(
    model="stabilityai/sdxl-turbo",
    family="sdxl",
    steps=4,
    guidance=0.0,
    variant="fp16",
    licence=STABILITY_COMMUNITY,
)
TURBO_CPU = ModelPreset(
    model="stabilityai/sd-turbo",
    family="sd",
    steps=2,
    guidance=0.0,
    # Half the download; the weights are cast to the CPU's bfloat16 when loaded.
    variant="fp16",
    licence=STABILITY_COMMUNITY,
)
# Classifier-free guidance, so --no, negative weights and --stylize act fully; the LCM
# LoRA brings SD 1.5 down to a few steps.
GUIDED = ModelPreset(
    model="stable-diffusion-v1-5/stable-diffusion-v1-5",
    family="sd",
    steps=6,
    guidance=1.8,
    lora="latent-consistency/lcm-lora-sdv1-5",
    scheduler="lcm",
    ip_adapter="h94/IP-Adapter",
    ip_adapter_weight_name="ip-adapter_sd15.bin",
    licence="CreativeML OpenRAIL-M (model), OpenRAIL++ (LCM LoRA)",
)


def model_key(prompt: Prompt) -> str:
    """The version key a prompt asks for: ``"7"``, ``"6.1"`` or ``"niji 6"``."""
    params = prompt.params
    return f"niji {params.niji}" if params.niji is not None else (params.version or DEFAULT_VERSION)


def presets_for(settings: DiffusionSettings, *, gpu: bool) -> dict[str, ModelPreset]:
    """Every preset this server renders with: built-ins, the operator's, then the overrides.

    ``diffusion.model`` and ``diffusion.steps`` change the preset of the default version.
    """
    presets = {"turbo": TURBO_GPU if gpu else TURBO_CPU, "guided": GUIDED, **settings.presets}
    default_name = settings.versions.get(DEFAULT_VERSION)
    if default_name in presets and (settings.model or settings.steps):
        changes: dict[str, object] = {}
        if settings.model:
            # Another model: its family, variant and adapters are not the built-in's.
            changes |= {"model": settings.model, "family": "auto", "variant": None, "lora": None}
            changes |= {"ip_adapter": None, "licence": "the operator's model: see its card"}
        if settings.steps:
            changes["steps"] = settings.steps
        presets[default_name] = presets[default_name].model_copy(update=changes)
    return presets


def offered_versions(settings: DiffusionSettings) -> str:
    """The versions this server renders, as a user would write them."""
    written = [
        f"--niji {key.removeprefix('niji ')}" if key.startswith("niji ") else f"--v {key}"
        for key in settings.versions
    ]
    return ", ".join(written[:-1]) + f" or {written[-1]}" if len(written) > 1 else written[0]


def preset_name(prompt: Prompt, settings: DiffusionSettings) -> str:
    """The preset a prompt renders with, or ``ProviderRejected`` naming what is offered."""
    key = model_key(prompt)
    name = settings.versions.get(key)
    if name is None:
        asked = key if key.startswith("niji") else f"V{key}"
        raise ProviderRejected(
            f"This server has no model for {asked}. Use {offered_versions(settings)}.",
            kind=FailureKind.INVALID_REQUEST,
        )
    return name
