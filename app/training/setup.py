"""What a training run is assembled from: its folder layout, the model it builds, the
perceptual network, batches on the device, DataLoader workers and the DDP probe for
weights without gradients. The loop (app/training/loop.py) puts them together."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from app.model import ModelConfig
from app.model.config import CLASSICAL_PRIORS
from app.training.config import TrainConfig
from app.training.losses import PerceptualFn


@dataclass
class Batch:
    """One batch on the device. Images in [-1, 1]; mask and sketch (B,1,H,W) in {0, 1}."""

    image: Tensor
    mask: Tensor
    sketch: Tensor
    prior: Tensor

    @classmethod
    def from_loader(cls, data: dict[str, Tensor], device: torch.device, channels_last: bool) -> Batch:
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        move = lambda t: t.to(device, non_blocking=True).float().contiguous(memory_format=fmt)  # noqa: E731
        return cls(move(data["image"]), move(data["mask"]), move(data["sketch"]), move(data["prior"]))


def run_dir_paths(out: Path) -> dict[str, Path]:
    out = Path(out)
    return {"checkpoints": out / "checkpoints", "last": out / "checkpoints" / "last.pt",
            "samples": out / "samples", "config": out / "config.json", "holdout": out / "holdout.txt"}


def exported_path(config: TrainConfig) -> Path:
    """RUN_DIR/<engine>.pt: the file the `mtsa*` engines load (copy to model_weights/)."""
    return Path(config.out) / f"{config.variant}.pt"


def build_model_config(config: TrainConfig) -> ModelConfig:
    kw: dict[str, Any] = {"guided": config.guided, "constant_temperature": config.constant_temperature,
                          "prior": config.prior or "telea", "attention_patch": config.attention_patch}
    if config.channels is not None:
        kw["channels"] = config.channels
    return ModelConfig(**kw)


def load_perceptual(config: TrainConfig, device: torch.device) -> PerceptualFn | None:
    """ST-LPIPS from the stlpips-pytorch wheel (frozen, differentiable in its inputs)."""
    if config.perceptual_net == "none" or config.weights.perceptual <= 0:
        return None
    from app.evaluation.perceptual import PerceptualUnavailable, load_stlpips

    try:
        return load_stlpips(config.perceptual_net, device=device)
    except PerceptualUnavailable as exc:
        raise ValueError(f"{exc} (or train without it: --perceptual none)") from None


def default_workers(cuda: bool, world_size: int) -> int:
    """On CUDA the crops, holes and Telea priors are made on the CPU (about 23 ms a sample at
    256 px) and would starve the GPU in the main process: give each rank an equal share of
    the cores, keeping one for the main processes. On the CPU the step itself needs them."""
    if not cuda:
        return 0
    from app.inference.jobs import usable_cores

    return max(1, min(16, (usable_cores() - world_size) // max(world_size, 1)))


def has_unused_parameters(generator: nn.Module, model_config: ModelConfig, device: torch.device) -> bool:
    """Whether some generator weights get no gradient (e.g. the constant-temperature
    ablation's unused temperature net); DDP must then be told to look for them."""
    probe = copy.deepcopy(generator).to(device)
    size = 64
    image = torch.zeros(1, 3, size, size, device=device)
    mask = torch.zeros(1, 1, size, size, device=device)
    mask[..., 16:48, 16:48] = 1
    out = probe(image, mask, torch.zeros_like(mask), image)
    (out.coarse.sum() + out.refined.sum()).backward()
    return any(p.grad is None for p in probe.parameters() if p.requires_grad)


def initial_model(config: TrainConfig) -> tuple[ModelConfig, dict[str, Tensor] | None]:
    """The model to build and, with --init-from, the weights of an exported engine checkpoint
    to start from (new optimisers and step 0)."""
    if config.init_from is None:
        return build_model_config(config), None
    from app.inference.checkpoint import load_generator

    generator, info = load_generator(Path(config.init_from), device="cpu")
    ckpt_cfg = ModelConfig.from_dict(info["config"])
    if config.channels is not None and config.channels != ckpt_cfg.channels:
        raise ValueError(f"--init-from checkpoint has channels={ckpt_cfg.channels}, "
                         f"but --channels {config.channels} was given")
    if ckpt_cfg.constant_temperature != config.constant_temperature:
        raise ValueError("--init-from checkpoint was trained with a different temperature mode")
    # the checkpoint's prior unless --prior names another; one classical prior may follow
    # another (the network refines either); "none" may not
    prior = config.prior or ckpt_cfg.prior
    if (ckpt_cfg.prior in CLASSICAL_PRIORS) != (prior in CLASSICAL_PRIORS):
        raise ValueError(f"--init-from checkpoint was trained with prior {ckpt_cfg.prior!r}, "
                         f"which cannot continue as {prior!r}")
    ckpt_cfg.prior = prior
    # guided may differ on purpose: an unguided net is a fine start for the guided one; the
    # attention's patch size adds no weights, so a token-attention net is a start for patches
    ckpt_cfg.guided = config.guided
    ckpt_cfg.attention_patch = config.attention_patch
    return ckpt_cfg, generator.state_dict()


def loss_summary(config: TrainConfig, perceptual: bool) -> str:
    """The losses of a run in words, for the model card."""
    w = config.weights
    text = f"L1 hole {w.l1_hole} + valid {w.l1_valid} (coarse and refined)"
    if perceptual and w.perceptual > 0:
        text += f" + ST-LPIPS-{config.perceptual_net} {w.perceptual}"
    if w.copy > 0:
        text += f" + attention copy {w.copy}"
    if config.adversarial:
        text += f" + hinge adv {w.adv} + feature matching {w.fm} from step {config.adv_start}"
    return text
