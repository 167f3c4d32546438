"""Text conditioning: weighted segments, negatives, and the per-image chaos/weird shifts.

Every image of a job gets its own row of embeddings, so images whose conditioning differs
(chaos, weird) still render in one batched pipeline call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from bot.providers.diffusion.spec import RenderJob, WeightedText

CHAOS_SCALE = 1.0
"""At ``--chaos 100`` each image's token embeddings get noise as large as their spread."""
WEIRD_SCALE = 2.0
"""At ``--weird 3000`` every token moves twice its spread along one seeded direction."""
NEGATIVE_PUSH_CAP = 1.0
"""Without CFG, how far at most the positive is pushed away from the negative blend."""
_CHAOS_SALT = 0x43484153
_WEIRD_SALT = 0x57454952


@dataclass(frozen=True, slots=True)
class Conditioning:
    """The embeddings one pipeline call takes, one row per image."""

    embeds: torch.Tensor
    pooled: torch.Tensor | None
    negative: torch.Tensor | None
    negative_pooled: torch.Tensor | None

    def call_kwargs(self) -> dict[str, Any]:
        """The conditioning as pipeline keyword arguments (pooled ones only for SDXL)."""
        kwargs: dict[str, Any] = {
            "prompt_embeds": self.embeds,
            "negative_prompt_embeds": self.negative,
        }
        if self.pooled is not None:
            kwargs["pooled_prompt_embeds"] = self.pooled
            kwargs["negative_pooled_prompt_embeds"] = self.negative_pooled
        return kwargs


def build_conditioning(pipe: Any, job: RenderJob) -> Conditioning:
    """The job's conditioning for ``pipe``: blended segments, negatives, per-image shifts.

    With CFG (guidance > 1) the negative blend is the negative prompt. Without it the
    positive is pushed away from the negative blend by the negatives' share of the weight.
    """
    positive = job.positive or (WeightedText("", 1.0),)
    texts = [term.text for term in (*positive, *job.negative)]
    with torch.no_grad():
        embeds, pooled = _encode(pipe, texts)
    count = len(positive)
    pos, pos_pooled = _blend(embeds[:count], pooled, positive, 0)
    neg = neg_pooled = None
    if job.negative:
        neg, neg_pooled = _blend(embeds[count:], pooled, job.negative, count)
        if job.guidance <= 1.0:
            push = min(NEGATIVE_PUSH_CAP, _total(job.negative) / _total(positive))
            pos = pos + push * (pos - neg)
            if pos_pooled is not None and neg_pooled is not None:
                pos_pooled = pos_pooled + push * (pos_pooled - neg_pooled)
            neg = neg_pooled = None
    rows = [_shifted(pos, seed, job.chaos, job.weird) for seed in job.seeds]
    pooled_rows = (
        None
        if pos_pooled is None
        else torch.stack([_shifted(pos_pooled, seed, job.chaos, job.weird) for seed in job.seeds])
    )
    batch = len(job.seeds)
    dtype = embeds.dtype
    return Conditioning(
        embeds=torch.stack(rows).to(dtype),
        pooled=None if pooled_rows is None else pooled_rows.to(dtype),
        negative=None if neg is None else _repeat(neg, batch).to(dtype),
        negative_pooled=None if neg_pooled is None else _repeat(neg_pooled, batch).to(dtype),
    )


def concatenate(pipe: Any, parts: Sequence[Conditioning], guidance: float) -> Conditioning:
    """Several jobs' conditioning as one batch, rows in order (jobs of one ``batch_key``).

    With CFG, a job without negatives gets the empty negative diffusers encodes for it alone.
    """
    if guidance > 1.0 and any(part.negative is not None for part in parts):
        parts = [_with_empty_negative(pipe, part) for part in parts]

    def cat(tensors: list[torch.Tensor | None]) -> torch.Tensor | None:
        present = [tensor for tensor in tensors if tensor is not None]
        return torch.cat(present) if len(present) == len(tensors) else None

    return Conditioning(
        embeds=torch.cat([part.embeds for part in parts]),
        pooled=cat([part.pooled for part in parts]),
        negative=cat([part.negative for part in parts]),
        negative_pooled=cat([part.negative_pooled for part in parts]),
    )


def _with_empty_negative(pipe: Any, part: Conditioning) -> Conditioning:
    if part.negative is not None:
        return part
    device = pipe._execution_device
    with torch.no_grad():
        if part.pooled is not None:
            _, negative, _, negative_pooled = pipe.encode_prompt(
                prompt=None,
                device=device,
                num_images_per_prompt=1,
                do_classifier_free_guidance=True,
                prompt_embeds=part.embeds,
                pooled_prompt_embeds=part.pooled,
            )
            return Conditioning(part.embeds, part.pooled, negative, negative_pooled)
        _, negative = pipe.encode_prompt(None, device, 1, True, prompt_embeds=part.embeds)
    return Conditioning(part.embeds, None, negative.to(part.embeds.dtype), None)


def _encode(pipe: Any, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-text embeddings ``[n, tokens, dim]`` and, for SDXL, pooled ``[n, dim]``."""
    device = pipe._execution_device
    if getattr(pipe, "text_encoder_2", None) is not None:
        embeds, _, pooled, _ = pipe.encode_prompt(
            prompt=texts,
            device=device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=False,
        )
        return embeds, pooled
    embeds, _ = pipe.encode_prompt(texts, device, 1, False)
    return embeds, None


def _blend(
    embeds: torch.Tensor,
    pooled: torch.Tensor | None,
    terms: Sequence[WeightedText],
    offset: int,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The weight-normalised sum of the terms' embeddings (computed in float32)."""
    weights = torch.tensor([term.weight for term in terms], dtype=torch.float32)
    weights = (weights / weights.sum()).to(embeds.device)
    mixed = torch.einsum("n,ntd->td", weights, embeds.float())
    if pooled is None:
        return mixed, None
    mixed_pooled = torch.einsum("n,nd->d", weights, pooled[offset : offset + len(terms)].float())
    return mixed, mixed_pooled


def _shifted(base: torch.Tensor, seed: int, chaos: float, weird: float) -> torch.Tensor:
    """``base`` with this image's seeded chaos noise and weird shift (same seed, same shift)."""
    if chaos <= 0 and weird <= 0:
        return base
    spread = base.std()
    shifted = base
    if chaos > 0:
        noise = _normal(base.shape, seed ^ _CHAOS_SALT).to(base.device)
        shifted = shifted + (chaos * CHAOS_SCALE) * spread * noise
    if weird > 0:
        # One direction for every token: the whole concept drifts, not each word apart.
        direction = _normal(base.shape[-1:], seed ^ _WEIRD_SALT).to(base.device)
        shifted = shifted + (weird * WEIRD_SCALE) * spread * direction
    return shifted


def _normal(shape: torch.Size, seed: int) -> torch.Tensor:
    # Drawn on the CPU so a seed gives the same shift on every device.
    generator = torch.Generator("cpu").manual_seed(seed % 2**63)
    return torch.randn(shape, generator=generator, dtype=torch.float32)


def _repeat(tensor: torch.Tensor, batch: int) -> torch.Tensor:
    return tensor.unsqueeze(0).expand(batch, *tensor.shape).contiguous()


def _total(terms: Sequence[WeightedText]) -> float:
    return sum(term.weight for term in terms)
