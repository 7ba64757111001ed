"""The two-stage gated-convolution generator with an MTSA branch (MODEL.md)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import CLASSICAL_PRIORS, ModelConfig
from .layers import GatedConv2d, GatedUp, residual_head
from .mtsa import MTSA, AttentionRecord


@dataclass
class GeneratorOutput:
    coarse: torch.Tensor  # (B, 3, H, W) in [-1, 1], not composited
    refined: torch.Tensor  # (B, 3, H, W) in [-1, 1], not composited
    temperature: torch.Tensor  # (B, heads, h, w) at the attention grid
    attention: AttentionRecord | None = None  # the MTSA layer's record, when forward(record=True)
    # head-averaged attention (B, N, N) and hole tokens (B, 1, h, w), when forward(weights=True)
    attention_weights: torch.Tensor | None = None
    hole_grid: torch.Tensor | None = None


class Encoder(nn.Module):
    """Full resolution to 1/4: the shared front of both stages."""

    def __init__(self, in_ch: int, c: int) -> None:
        super().__init__()
        # The first convolution already strides: at full resolution the classical prior
        # carries the detail, and the budget (25 GMACs at 512 x 512) is spent at 1/4.
        self.body = nn.Sequential(
            GatedConv2d(in_ch, c, 5, stride=2),
            GatedConv2d(c, 2 * c, 3),
            GatedConv2d(2 * c, 4 * c, 3, stride=2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Decoder(nn.Module):
    """1/4 resolution back to full resolution, ending in an RGB head."""

    def __init__(self, in_ch: int, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            GatedConv2d(in_ch, 4 * c, 3),
            GatedUp(4 * c, 2 * c),
            GatedConv2d(2 * c, c, 3),
            GatedUp(c, c),
        )
        self.head = residual_head(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def dilated_stack(ch: int, rates: tuple[int, ...] = (2, 4, 8, 16)) -> nn.Sequential:
    return nn.Sequential(*[GatedConv2d(ch, ch, 3, dilation=r) for r in rates])


class InpaintGenerator(nn.Module):
    """Coarse stage then refine stage (dilated branch + MTSA branch).

    With ``prior="telea"`` (or ``"harmonic"``) both stages predict residuals on the classical fill, so an
    untrained network reproduces it; with ``prior="none"`` the hole starts at zero and the
    heads predict colour through ``tanh``.
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ModelConfig()
        c = config.channels
        in_ch = 5  # image (3) + mask (1) + sketch (1), sketch zeros when unguided
        self.coarse_encoder = Encoder(in_ch, c)
        self.coarse_middle = nn.Sequential(dilated_stack(4 * c), GatedConv2d(4 * c, 4 * c, 3))
        self.coarse_decoder = Decoder(4 * c, c)

        self.refine_encoder = Encoder(in_ch, c)
        self.dilated_branch = dilated_stack(4 * c)
        self.attention_in = GatedConv2d(4 * c, 4 * c, 3)
        self.mtsa = MTSA(
            4 * c,
            config.heads,
            tau_min=config.tau_min,
            tau_max=config.tau_max,
            tau_init=config.tau_init,
            max_tokens_side=config.max_tokens_side,
            constant=config.constant_temperature,
            patch=config.attention_patch,
        )
        self.attention_out = GatedConv2d(4 * c, 4 * c, 3)
        self.refine_decoder = Decoder(8 * c, c)

    def _start(self, image: torch.Tensor, mask: torch.Tensor, prior: torch.Tensor | None) -> torch.Tensor:
        known = image * (1.0 - mask)
        if self.config.prior in CLASSICAL_PRIORS:
            if prior is None:
                raise ValueError(f"this generator was built with prior={self.config.prior!r} and needs the classical fill")
            return known + prior * mask
        return known

    def _finish(self, start: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
        if self.config.prior in CLASSICAL_PRIORS:
            return (start + head).clamp(-1.0, 1.0)
        return torch.tanh(head)

    def forward(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        sketch: torch.Tensor | None = None,
        prior: torch.Tensor | None = None,
        protect: torch.Tensor | None = None,
        *,
        record: bool = False,
        weights: bool = False,
    ) -> GeneratorOutput:
        """Fill the hole; ``record=True`` also returns the MTSA layer's attention record.

        ``protect`` (B,1,H,W, 1 = never borrow from here) takes those pixels out of the
        attention's keys; the convolutions still see them as context."""
        if image.shape[-1] % 8 or image.shape[-2] % 8:
            raise ValueError(f"height and width must be multiples of 8, got {tuple(image.shape[-2:])}")
        if sketch is None or not self.config.guided:
            # The unguided network never sees strokes; the channel stays for one class.
            sketch = torch.zeros_like(mask)
        start = self._start(image, mask, prior)

        x = torch.cat([start, mask, sketch], dim=1)
        coarse = self._finish(start, self.coarse_decoder(self.coarse_middle(self.coarse_encoder(x))))

        merged = start * (1.0 - mask) + coarse * mask
        y = self.refine_encoder(torch.cat([merged, mask, sketch], dim=1))
        dilated = self.dilated_branch(y)
        mtsa = self.mtsa(self.attention_in(y), mask, protect, record=record, weights=weights)
        attended = self.attention_out(mtsa.features)
        refined = self._finish(merged, self.refine_decoder(torch.cat([dilated, attended], dim=1)))
        return GeneratorOutput(coarse, refined, mtsa.temperature, mtsa.record, mtsa.weights, mtsa.hole_grid)
