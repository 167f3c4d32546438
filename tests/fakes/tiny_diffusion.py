"""Tiny random-weight Stable Diffusion pipelines, built in code and saved like a real model.

The directories these builders write load with ``DiffusionPipeline.from_pretrained`` exactly
as a downloaded model does, so tests exercise the production loading path without a model
hub. Weights are seeded, so two builds give the same pipeline; the images mean nothing, but
they are real tensors through real pipelines (a 4-image 128x128 grid renders in well under a
second on two CPU cores).
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

# Vocabulary: every printable ASCII character, alone and word-final (CLIP's ``</w>`` form),
# plus the two special tokens. Without merges a word tokenises to its characters, which is
# all a random-weight model needs: different texts give different token ids.
_SPECIALS = ("<|startoftext|>", "<|endoftext|>")
_CHARS = tuple(string.ascii_lowercase + string.digits + string.punctuation)
_MAX_TOKENS = 77


def _tokenizer() -> Any:
    from transformers import CLIPTokenizer

    vocab: dict[str, int] = {}
    for token in (*_SPECIALS, *_CHARS, *(f"{char}</w>" for char in _CHARS)):
        vocab[token] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=_MAX_TOKENS)


def _text_config(vocab_size: int) -> Any:
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_size=32,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=3,
        vocab_size=vocab_size,
        max_position_embeddings=_MAX_TOKENS,
        hidden_act="gelu",
        projection_dim=32,
    )


def _vae() -> Any:
    from diffusers import AutoencoderKL

    # Four blocks: the real models' 8x latent downsampling, so sizes behave as in production.
    return AutoencoderKL(
        block_out_channels=(8, 8, 16, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        norm_num_groups=4,
        layers_per_block=1,
    )


def _scheduler() -> Any:
    from diffusers import EulerDiscreteScheduler

    return EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="trailing",
        steps_offset=1,  # what diffusers expects of a current config (else it warns)
    )


def build_tiny_sd(path: Path) -> Path:
    """Write a tiny SD 1.x-style pipeline (no safety checker) to ``path`` and return it."""
    import torch
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.manual_seed(0)
    tokenizer = _tokenizer()
    unet = UNet2DConditionModel(
        block_out_channels=(16, 32),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=4,
        norm_num_groups=4,
    )
    pipe = StableDiffusionPipeline(
        unet=unet,
        vae=_vae(),
        text_encoder=CLIPTextModel(_text_config(len(tokenizer))),
        tokenizer=tokenizer,
        scheduler=_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(path)
    return path


def build_tiny_sdxl(path: Path) -> Path:
    """Write a tiny SDXL-style pipeline (two text encoders, pooled embeds) to ``path``."""
    import torch
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(0)
    tokenizer = _tokenizer()
    config = _text_config(len(tokenizer))
    unet = UNet2DConditionModel(
        block_out_channels=(16, 32),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1),
        # The pooled text embedding (32) and six micro-conditioning numbers of 8 each.
        projection_class_embeddings_input_dim=32 + 6 * 8,
        # Both encoders' hidden states side by side.
        cross_attention_dim=64,
        norm_num_groups=4,
    )
    pipe = StableDiffusionXLPipeline(
        unet=unet,
        vae=_vae(),
        text_encoder=CLIPTextModel(config),
        text_encoder_2=CLIPTextModelWithProjection(config),
        tokenizer=tokenizer,
        tokenizer_2=_tokenizer(),
        scheduler=_scheduler(),
    )
    pipe.save_pretrained(path)
    return path
