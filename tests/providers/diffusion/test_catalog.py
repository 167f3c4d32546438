"""Which preset a prompt's version renders with, and the overrides of the default one."""

from __future__ import annotations

import pytest

from bot.errors import FailureKind, ProviderRejected
from bot.prompt import parse_prompt
from bot.providers.diffusion.catalog import (
    GUIDED,
    TURBO_CPU,
    TURBO_GPU,
    offered_versions,
    preset_name,
    presets_for,
)
from bot.providers.diffusion.presets import ModelPreset
from bot.settings import DiffusionSettings


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("a cat", "turbo"),
        ("a cat --v 6.1", "turbo"),
        ("a cat --v 6", "guided"),
        ("a cat --niji", "guided"),
    ],
)
def test_versions_pick_their_preset(text: str, name: str) -> None:
    assert preset_name(parse_prompt(text), DiffusionSettings()) == name


@pytest.mark.parametrize(
    ("text", "asked"), [("a cat --v 5.2", "V5.2"), ("a cat --niji 5", "niji 5")]
)
def test_a_version_without_a_preset_names_the_versions_offered(text: str, asked: str) -> None:
    with pytest.raises(ProviderRejected) as caught:
        preset_name(parse_prompt(text), DiffusionSettings())
    assert caught.value.kind is FailureKind.INVALID_REQUEST
    assert caught.value.message == (
        f"This server has no model for {asked}. Use --v 7, --v 6.1, --v 6 or --niji 6."
    )


def test_offered_versions_with_one_version() -> None:
    assert offered_versions(DiffusionSettings(versions={"7": "turbo"})) == "--v 7"


def test_the_turbo_preset_follows_the_device() -> None:
    assert presets_for(DiffusionSettings(), gpu=True)["turbo"] == TURBO_GPU
    assert presets_for(DiffusionSettings(), gpu=False)["turbo"] == TURBO_CPU
    assert presets_for(DiffusionSettings(), gpu=False)["guided"] == GUIDED


def test_model_and_steps_replace_the_default_versions_preset_only() -> None:
    settings = DiffusionSettings(model="/models/mine", steps=9)
    presets = presets_for(settings, gpu=True)
    turbo = presets["turbo"]
    assert (turbo.model, turbo.steps, turbo.family, turbo.variant) == (
        "/models/mine",
        9,
        "auto",
        None,
    )
    assert turbo.licence != TURBO_GPU.licence
    assert presets["guided"] == GUIDED


def test_operator_presets_join_and_replace_the_built_ins() -> None:
    mine = ModelPreset(model="/m/anime.safetensors", family="sd", steps=20, guidance=7.0)
    settings = DiffusionSettings(presets={"anime": mine, "guided": mine}, versions={"7": "anime"})
    presets = presets_for(settings, gpu=False)
    assert presets["anime"] == mine
    assert presets["guided"] == mine
    assert presets["turbo"] == TURBO_CPU


def test_every_built_in_preset_states_its_licence() -> None:
    for preset in (TURBO_GPU, TURBO_CPU, GUIDED):
        assert preset.licence


def test_guidance_below_one_means_no_cfg() -> None:
    assert not TURBO_CPU.uses_guidance
    assert GUIDED.uses_guidance
