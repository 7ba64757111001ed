"""Building blocks shared by the generator's two stages."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class GatedConv2d(nn.Module):
    """DeepFill v2's gated convolution: ``act(features) * sigmoid(gate)``.

    One convolution produces both halves, which is cheaper than two and keeps the gate
    aligned with its features.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int = 3,
        stride: int = 1,
        dilation: int = 1,
        activation: bool = True,
    ) -> None:
        super().__init__()
        padding = dilation * (kernel - 1) // 2
        self.conv = nn.Conv2d(in_ch, 2 * out_ch, kernel, stride, padding, dilation)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat, gate = self.conv(x).chunk(2, dim=1)
        if self.activation:
            feat = F.elu(feat)
        return feat * torch.sigmoid(gate)


class GatedUp(nn.Module):
    """Nearest-neighbour upsampling by two followed by a gated convolution.

    Avoids the checkerboard artefacts of transposed convolutions.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = GatedConv2d(in_ch, out_ch, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def residual_head(in_ch: int, gain: float = 0.1) -> nn.Conv2d:
    """A 3x3 convolution to RGB whose initial output is small but not zero.

    With the classical prior the network starts equal to it; a zero head would stop any
    gradient reaching the layers upstream, so it is only scaled down.
    """
    head = nn.Conv2d(in_ch, 3, 3, padding=1)
    with torch.no_grad():
        head.weight.mul_(gain)
        head.bias.zero_()
    return head
