"""Configuration of the inpainting generator, stored beside every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

PRIORS = ("telea", "harmonic", "none")
# the priors that are a classical fill the network refines (residuals on top of it)
CLASSICAL_PRIORS = ("telea", "harmonic")


@dataclass
class ModelConfig:
    """Hyper-parameters that define the network's shape and behaviour.

    Everything here is saved in the checkpoint's JSON so that a checkpoint always rebuilds
    the exact network it was trained as.
    """

    channels: int = 12  # base width; the 1/4-resolution trunk has 4 * channels
    heads: int = 4  # MTSA heads: each can borrow from a different distant region
    guided: bool = False  # the network reads a sketch channel (zeros when absent)
    # Ablation (the baseline the paper improves on): constant temperature 10 and
    # DeepFill's zero-score masking instead of the learned temperature + masked softmax.
    constant_temperature: bool = False
    tau_min: float = 1.0
    tau_max: float = 50.0
    tau_init: float = 10.0  # the old constant, so training starts where contextual attention is
    # Attention tokens are capped at max_tokens_side**2 whatever the input size, so the
    # cost of attention does not grow quadratically with megapixels.
    max_tokens_side: int = 32
    # 1: queries and keys are single tokens (the paper); 3: 3 x 3 patches of tokens, keys
    # strictly from known tokens (DeepFill's patch matching; app/model/mtsa.py). Checkpoints
    # from before this option have no key and load as 1, exactly as they were trained.
    attention_patch: int = 1
    # "telea": the classical fill is an input and both stages predict residuals on top of
    # it, so an untrained network equals the classical fill (MODEL.md's safety net).
    # "harmonic": the same, with Laplace's smooth fill instead of Telea's (app/inference/prior.py).
    prior: str = "telea"

    def __post_init__(self) -> None:
        if self.channels < 4 or self.channels % 2:
            raise ValueError(f"channels must be an even number >= 4, got {self.channels}")
        if (4 * self.channels) % self.heads:
            raise ValueError(f"4 * channels ({4 * self.channels}) must divide by heads ({self.heads})")
        if not 0 < self.tau_min < self.tau_init < self.tau_max:
            raise ValueError("temperatures must satisfy 0 < tau_min < tau_init < tau_max")
        if self.attention_patch < 1 or self.attention_patch % 2 == 0:
            raise ValueError(f"attention_patch must be an odd number >= 1, got {self.attention_patch}")
        if self.max_tokens_side < 2:
            raise ValueError("max_tokens_side must be at least 2")
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {self.prior!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**data)
