"""Exponential moving average of the generator's weights (the exported model).

The EMA copy is a full module so that it can be evaluated, sampled and exported directly.
Its state is plain tensors, so it resumes exactly from a `weights_only=True` checkpoint.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """`shadow = d * shadow + (1 - d) * param` after every optimiser step.

    With warm-up the decay is `min(decay, (1 + n) / (10 + n))`: a fresh EMA of a randomly
    initialised net would otherwise stay near the initial weights for ~1/(1-decay) steps,
    which is the whole of a short CPU run.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True) -> None:
        self.decay = decay
        self.warmup = warmup
        self.num_updates = 0
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        if not self.warmup:
            return self.decay
        return min(self.decay, (1.0 + self.num_updates) / (10.0 + self.num_updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.current_decay()
        ema_params = list(self.module.parameters())
        params = [p.detach() for p in model.parameters()]
        if len(ema_params) != len(params):
            raise RuntimeError("EMA and model have different parameter lists")
        # lerp_(p, w) computes shadow + w * (p - shadow) = d * shadow + (1 - d) * p
        torch._foreach_lerp_(ema_params, params, 1.0 - d)
        # buffers (e.g. running stats) are copied, not averaged
        for b_ema, b in zip(self.module.buffers(), model.buffers(), strict=True):
            b_ema.copy_(b)
        self.num_updates += 1

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "num_updates": self.num_updates}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])
        self.num_updates = int(state["num_updates"])
