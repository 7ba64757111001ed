"""SN-PatchGAN discriminator (DeepFill v2): every output cell judges one image patch."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm


class PatchDiscriminator(nn.Module):
    """Strided 5x5 spectral-norm convolutions with LeakyReLU on image + mask (+ sketch).

    Returns the patch logits and the intermediate features (for feature matching).
    """

    def __init__(self, in_channels: int = 5, channels: int = 32) -> None:
        super().__init__()
        widths = [channels, 2 * channels, 4 * channels, 4 * channels, 4 * channels]
        layers = []
        prev = in_channels
        for w in widths:
            layers.append(spectral_norm(nn.Conv2d(prev, w, 5, stride=2, padding=2)))
            prev = w
        self.layers = nn.ModuleList(layers)
        self.head = spectral_norm(nn.Conv2d(prev, 1, 3, padding=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features = []
        for layer in self.layers:
            x = nn.functional.leaky_relu(layer(x), 0.2)
            features.append(x)
        return self.head(x), features
