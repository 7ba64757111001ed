"""Multi-head temperature masked self-attention (MTSA).

Queries and keys are L2-normalised so scores are cosines in [-1, 1]; a small network
predicts one bounded temperature per query pixel and head; hole keys get minus infinity
before the softmax, so every row's weights sum to one over the known keys.

The per-query temperature folds into the query (``q' = tau * q / |q|``), so the learned
path is exactly ``softmax(tau * cos + bias) @ v`` computed by
``scaled_dot_product_attention`` with ``scale=1``: a fused kernel on the GPU, and no more
than one score matrix on the CPU.

The ablation (``constant=True``) is DeepFill's contextual attention scoring: a constant
temperature of 10, hole keys scored 0 instead of minus infinity and their weights zeroed
after the softmax, so rows no longer sum to one.

With ``patch=3`` a query and a key are matched as 3 x 3 patches of tokens, as DeepFill's
contextual attention matches 3 x 3 patches and fuses neighbouring scores: the score is
the mean cosine of the nine aligned token pairs, so neighbouring queries prefer
neighbouring keys (coherent copying, as in PatchMatch) and a hole token near a known edge
matches by what surrounds it. The unit vectors of hole tokens are zeroed in the keys'
patches, so a key is built strictly from known pixels. It is cheap: the patches are the
nine unit vectors concatenated (a 9x longer dot product), so the score is still one
matrix product in [-1, 1] and the learned temperature means what it did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

CONSTANT_TEMPERATURE = 10.0  # DeepFill v2's softmax scale


@dataclass
class AttentionRecord:
    """What one forward pass attended with: returned when the attention viewer asks for it."""

    q: torch.Tensor  # (B, heads, N, d), temperature already folded in
    k: torch.Tensor  # (B, heads, N, d), unit length
    key_valid: torch.Tensor  # (B, N) bool
    temperature: torch.Tensor  # (B, heads, h, w)
    grid: tuple[int, int]  # (h, w) token grid
    constant: bool


class MTSAOutput(NamedTuple):
    """What :meth:`MTSA.forward` returns; the layer itself keeps no state between calls."""

    features: torch.Tensor  # (B, C, H, W): the input with the attended residual added in the hole
    temperature: torch.Tensor  # (B, heads, h, w) at the attention grid, detached
    record: AttentionRecord | None  # only when forward(..., record=True)
    # (B, N, N) attention averaged over the heads, differentiable; only with weights=True
    # (the training loss that teaches the attention where to copy from reads it)
    weights: torch.Tensor | None = None
    hole_grid: torch.Tensor | None = None  # (B, 1, h, w) 1 = hole token; with weights


def patch_vectors(x: torch.Tensor, grid: tuple[int, int], patch: int) -> torch.Tensor:
    """(B, heads, N, d) unit vectors -> (B, heads, N, d * patch**2), scaled by 1 / patch so that
    the dot product of two patch vectors is the mean of the aligned pairs' dot products
    (tokens beyond the border count as zero vectors, as in DeepFill's zero-padded patches)."""
    if patch == 1:
        return x
    b, heads, n, d = x.shape
    gh, gw = grid
    planes = x.transpose(-1, -2).reshape(b * heads, d, gh, gw)
    cols = F.unfold(planes, patch, padding=patch // 2)  # (B*heads, d * patch**2, N)
    return cols.reshape(b, heads, d * patch * patch, n).transpose(-1, -2) / math.sqrt(patch * patch)


def masked_softmax(scores: torch.Tensor, key_valid: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis restricted to valid keys.

    A row with no valid key returns all zeros (the caller falls back to its input).
    ``key_valid`` broadcasts against ``scores``.
    """
    masked = scores.masked_fill(~key_valid, float("-inf"))
    weights = torch.softmax(masked, dim=-1)
    return torch.nan_to_num(weights, nan=0.0)


def zero_score_softmax(scores: torch.Tensor, key_valid: torch.Tensor) -> torch.Tensor:
    """DeepFill's masking: score 0 for hole keys, softmax, then zero their weights."""
    valid = key_valid.to(scores.dtype)
    return torch.softmax(scores * valid, dim=-1) * valid


class TemperatureNet(nn.Module):
    """Predicts a bounded temperature per query pixel and head from features and mask.

    ``tau = tau_min + (tau_max - tau_min) * sigmoid(t)``: bounded on both sides, so it can
    neither diverge to one-hot attention nor collapse to uniform blur, and the bias starts
    it at ``tau_init`` everywhere.
    """

    def __init__(self, channels: int, heads: int, tau_min: float, tau_max: float, tau_init: float) -> None:
        super().__init__()
        hidden = max(16, channels // 4)
        self.body = nn.Sequential(
            nn.Conv2d(channels + 1, hidden, 3, padding=1),
            nn.ELU(),
            nn.Conv2d(hidden, heads, 3, padding=1),
        )
        self.tau_min = tau_min
        self.tau_max = tau_max
        start = (tau_init - tau_min) / (tau_max - tau_min)
        with torch.no_grad():
            last = self.body[-1]
            last.weight.mul_(0.1)  # start close to tau_init everywhere, yet trainable
            last.bias.fill_(math.log(start / (1.0 - start)))

    def forward(self, feat: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        t = self.body(torch.cat([feat, mask], dim=1))
        return self.tau_min + (self.tau_max - self.tau_min) * torch.sigmoid(t)


class MTSA(nn.Module):
    """Multi-head temperature masked self-attention on a (B, C, H, W) feature map."""

    def __init__(
        self,
        channels: int,
        heads: int = 4,
        *,
        tau_min: float = 1.0,
        tau_max: float = 50.0,
        tau_init: float = 10.0,
        max_tokens_side: int = 32,
        constant: bool = False,
        patch: int = 1,
    ) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError("channels must divide by heads")
        if patch < 1 or patch % 2 == 0:
            raise ValueError(f"patch must be an odd number >= 1, got {patch}")
        self.heads = heads
        self.patch = patch
        self.max_tokens_side = max_tokens_side
        self.constant = constant
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        self.temperature = TemperatureNet(channels, heads, tau_min, tau_max, tau_init)
        # Learned gain on the attended residual. Small, not zero: at zero no gradient would
        # reach the queries, keys or temperatures until the gain itself had moved.
        self.gain = nn.Parameter(torch.tensor(0.1))

    def token_grid(self, height: int, width: int) -> tuple[int, int]:
        """The attention grid: the feature map pooled so neither side exceeds the cap."""
        stride = max(1, math.ceil(max(height, width) / self.max_tokens_side))
        return math.ceil(height / stride), math.ceil(width / stride)

    def forward(self, feat: torch.Tensor, mask: torch.Tensor, protect: torch.Tensor | None = None, *,
                record: bool = False, weights: bool = False) -> MTSAOutput:
        """Attend from hole positions to valid keys; ``record=True`` also returns what it attended
        with, ``weights=True`` the head-averaged attention (differentiable, for training).

        ``mask`` (B,1,H',W', 1 = hole) may have any size; ``protect`` (same form, optional) marks
        pixels no query may borrow from: a key touching the hole or a protected pixel is invalid."""
        b, c, height, width = feat.shape
        gh, gw = self.token_grid(height, width)
        pooled = F.adaptive_avg_pool2d(feat, (gh, gw)) if (gh, gw) != (height, width) else feat
        # max-pool, not nearest: a feature cell that covers any hole pixel counts as hole
        hole = F.adaptive_max_pool2d(mask, (height, width)) if mask.shape[-2:] != (height, width) else mask
        # A key whose pooled patch touches the hole is invalid: max-pool the hole.
        hole_grid = F.adaptive_max_pool2d(hole, (gh, gw)) if (gh, gw) != (height, width) else hole
        key_valid = hole_grid.flatten(1) < 0.5  # (B, N)
        if protect is not None:
            shield = F.adaptive_max_pool2d(protect.to(feat.dtype), (gh, gw))
            key_valid = key_valid & (shield.flatten(1) < 0.5)

        q, k, v = self.qkv(pooled).chunk(3, dim=1)
        d = c // self.heads

        def split(x: torch.Tensor) -> torch.Tensor:  # (B, C, h, w) -> (B, heads, N, d)
            return x.reshape(b, self.heads, d, gh * gw).transpose(-1, -2)

        q, k, v = split(q), split(k), split(v)
        q = patch_vectors(F.normalize(q, dim=-1), (gh, gw), self.patch)
        # a key's patch is built strictly from known tokens: hole tokens add nothing to it
        k = patch_vectors(F.normalize(k, dim=-1) * key_valid[:, None, :, None].to(k.dtype), (gh, gw), self.patch)
        if self.constant:
            tau = torch.full((b, self.heads, gh, gw), CONSTANT_TEMPERATURE, device=feat.device, dtype=feat.dtype)
        else:
            tau = self.temperature(pooled, hole_grid).to(feat.dtype)
        q = q * tau.flatten(2).unsqueeze(-1)
        attention = None
        if record:
            attention = AttentionRecord(q.detach(), k.detach(), key_valid.detach(), tau.detach(), (gh, gw), self.constant)

        has_valid = key_valid.any(dim=1)  # (B,)
        rows = None
        if self.constant or weights:
            score = q @ k.transpose(-1, -2)
            valid = key_valid[:, None, None, :]
            rows = zero_score_softmax(score, valid) if self.constant else masked_softmax(score, valid)
            out = rows @ v
            rows = rows.mean(dim=1) if weights else None
        else:
            # Rows of an image with no valid key at all would be NaN: give them a neutral
            # mask and discard their output below.
            allowed = key_valid | ~has_valid[:, None]
            bias = torch.zeros(allowed.shape, dtype=q.dtype, device=q.device)
            bias = bias.masked_fill(~allowed, float("-inf"))[:, None, None, :]
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)
        out = out.transpose(-1, -2).reshape(b, c, gh, gw)
        out = self.proj(out)
        if (gh, gw) != (height, width):
            out = F.interpolate(out, size=(height, width), mode="bilinear", align_corners=False)
        # Only hole positions take the attended feature; images with no valid key keep theirs.
        take = hole * has_valid.to(feat.dtype)[:, None, None, None]
        return MTSAOutput(feat + self.gain * out * take, tau.detach(), attention, rows,
                          hole_grid if weights else None)


def attention_weights(record: AttentionRecord, row: int, col: int) -> torch.Tensor:
    """Attention of the query token at grid (row, col), averaged over heads: (B, h, w)."""
    gh, gw = record.grid
    index = row * gw + col
    scores = record.q[:, :, index : index + 1, :] @ record.k.transpose(-1, -2)  # (B, heads, 1, N)
    valid = record.key_valid[:, None, None, :]
    if record.constant:
        weights = zero_score_softmax(scores, valid)
    else:
        weights = masked_softmax(scores, valid)
    return weights.mean(dim=1).reshape(-1, gh, gw)
