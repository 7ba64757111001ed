"""Loss terms of the inpainting GAN (DeepFill v2 style) and their weighted sum.

Pure functions of tensors: the perceptual network is injected as a callable so that this
module neither loads weights nor knows which package ships them. Weights and the reason
for each default live in `app.training.config.LossWeights`.

Conventions: images in [-1, 1], masks (B,1,H,W) float with 1 = hole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from app.training.config import LossWeights

# (pred, target) -> per-sample distances (B,) or a scalar; images in [-1, 1], differentiable.
PerceptualFn = Callable[[Tensor, Tensor], Tensor]

_EPS = 1e-6


def masked_l1(pred: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """Mean absolute error over the pixels where `weight` is 1 (all channels).

    Normalising by the region's own size (not the image's) keeps the hole term on the same
    scale whether the hole covers 10 % or 60 % of the image.
    """
    weight = weight.to(pred.dtype).expand_as(pred)
    return (torch.abs(pred - target) * weight).sum() / weight.sum().clamp_min(_EPS)


def l1_hole_valid(pred: Tensor, target: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """DeepFill's split L1: (mean over hole pixels, mean over known pixels)."""
    return masked_l1(pred, target, mask), masked_l1(pred, target, 1.0 - mask)


def d_hinge_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """SN-PatchGAN hinge loss for the discriminator (every patch logit is one decision)."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def g_hinge_loss(fake_logits: Tensor) -> Tensor:
    """Hinge loss for the generator: raise D's score of the fills."""
    return -fake_logits.mean()


def feature_matching_loss(fake_feats: Sequence[Tensor], real_feats: Sequence[Tensor]) -> Tensor:
    """L1 between D's intermediate features of the fill and of the real image, averaged
    over layers. Real features are constants: only the generator learns from this term."""
    if len(fake_feats) != len(real_feats) or not fake_feats:
        raise ValueError("feature matching needs the same, non-zero number of feature maps")
    terms = [F.l1_loss(f, r.detach()) for f, r in zip(fake_feats, real_feats, strict=True)]
    return torch.stack(terms).mean()


def perceptual_loss(fn: PerceptualFn, pred: Tensor, target: Tensor) -> Tensor:
    """Mean perceptual distance; the network runs in fp32 (LPIPS heads are not bf16-safe)."""
    with torch.autocast(device_type=pred.device.type, enabled=False):
        dist = fn(pred.float(), target.float())
    return dist.mean()


def token_descriptors(target: Tensor, grid: tuple[int, int]) -> Tensor:
    """(B, N, 12): each attention token's patch of the true image, as its 2 x 2 mean colours."""
    gh, gw = grid
    small = F.adaptive_avg_pool2d(target.float(), (2 * gh, 2 * gw))
    return F.pixel_unshuffle(small, 2).flatten(2).transpose(1, 2)


def attention_copy_loss(weights: Tensor, hole_grid: Tensor, target: Tensor) -> Tensor:
    """How far what the attention copies is from the truth, over the hole's tokens.

    ``weights`` (B, N, N) is the MTSA attention averaged over heads, ``hole_grid`` (B, 1, h, w)
    its hole tokens. Each hole token's copy is the attention-weighted mean of the true
    patches at its keys (each row renormalised, so the constant-temperature ablation, whose
    rows need not sum to one, is judged the same way); the L1 to its own true patch is the
    loss. In training the truth inside the hole is known, so this tells every hole token
    where a fitting source is: different parts of a hole learn to borrow from different
    places, which the fill losses alone never asked for (they let the attention collapse
    onto one token).
    """
    desc = token_descriptors(target, tuple(hole_grid.shape[-2:]))
    weights = weights.float()
    total = weights.sum(dim=-1, keepdim=True)
    copied = (weights @ desc) / total.clamp_min(_EPS)
    use = ((hole_grid.flatten(1) > 0.5) & (total.squeeze(-1) > 0)).to(desc.dtype)[..., None]
    return (torch.abs(copied - desc) * use).sum() / (use.sum() * desc.shape[-1]).clamp_min(_EPS)


def composite(pred: Tensor, image: Tensor, mask: Tensor) -> Tensor:
    """What the user sees: prediction inside the hole, the original everywhere else."""
    return mask * pred + (1.0 - mask) * image


def discriminator_input(rgb: Tensor, mask: Tensor, sketch: Tensor) -> Tensor:
    """D sees the image with the mask and the sketch it was asked to follow (5 channels)."""
    return torch.cat([rgb, mask.to(rgb.dtype), sketch.to(rgb.dtype)], dim=1)


def generator_loss(
    *,
    coarse: Tensor,
    refined: Tensor,
    target: Tensor,
    mask: Tensor,
    weights: LossWeights,
    perceptual_fn: PerceptualFn | None = None,
    fake_logits: Tensor | None = None,
    fake_feats: Sequence[Tensor] | None = None,
    real_feats: Sequence[Tensor] | None = None,
    attention: tuple[Tensor, Tensor] | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Weighted generator objective and its parts (detached 0-d tensors, for logging:
    converting them to floats here would synchronise the GPU on every step).

    The adversarial and feature-matching terms are included only when their inputs are
    given: the loop passes them once the adversarial phase has started. ``attention`` is the
    generator's (head-averaged weights, hole tokens), for :func:`attention_copy_loss`.
    """
    parts: dict[str, Tensor] = {}
    hole_r, valid_r = l1_hole_valid(refined, target, mask)
    hole_c, valid_c = l1_hole_valid(coarse, target, mask)
    parts["l1_hole"] = hole_r + hole_c
    parts["l1_valid"] = valid_r + valid_c
    total = weights.l1_hole * parts["l1_hole"] + weights.l1_valid * parts["l1_valid"]

    if perceptual_fn is not None and weights.perceptual > 0:
        parts["perceptual"] = perceptual_loss(perceptual_fn, composite(refined, target, mask), target)
        total = total + weights.perceptual * parts["perceptual"]
    if attention is not None and weights.copy > 0:
        parts["copy"] = attention_copy_loss(attention[0], attention[1], target)
        total = total + weights.copy * parts["copy"]
    if fake_logits is not None and weights.adv > 0:
        parts["adv"] = g_hinge_loss(fake_logits.float())
        total = total + weights.adv * parts["adv"]
    if fake_feats is not None and real_feats is not None and weights.fm > 0:
        parts["fm"] = feature_matching_loss([f.float() for f in fake_feats], [r.float() for r in real_feats])
        total = total + weights.fm * parts["fm"]

    logs = {k: v.detach() for k, v in parts.items()}
    logs["g_total"] = total.detach()
    return total, logs
