"""The resolved settings of one training run (written beside its checkpoints as config.json).

Loss weights are declared here, in one place, with the reason for each default, so that a
run's config.json says exactly what was optimised.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class LossWeights:
    """Weights of the generator's loss terms (the discriminator's hinge loss has none).

    L1 follows DeepFill: each stage's L1 is split into a hole part and a valid part, each
    averaged over its own pixels, so a small hole is not drowned by the known pixels.
    The coarse stage gets the same weight as the refined one (DeepFill v2 uses 1:1).
    """

    l1_hole: float = 1.0      # refined + coarse, mean over hole pixels
    l1_valid: float = 1.0     # refined + coarse, mean over known pixels (the raw prediction
                              # there is discarded by compositing; keeps the net well posed)
    perceptual: float = 1.0   # ST-LPIPS (VGG trunk) on the composited refined output; the
                              # distance is ~0.1-0.5 per image, on the scale of the L1 terms
    adv: float = 0.1          # hinge generator loss; 0.1 is a tenth of L1 (MODEL.md: adversarial
                              # only once fills have structure, see TrainConfig.adv_start)
    fm: float = 1.0           # discriminator feature matching (weight-free perceptual term),
                              # only active together with the adversarial term
    copy: float = 1.0         # attention copy loss (losses.attention_copy_loss): L1 between the
                              # true patch of each hole token and the mean of the true patches
                              # its attention reads, on the scale of l1_hole; 0 = the paper's
                              # losses only (the fill losses alone let the attention collapse)


@dataclass
class TrainConfig:
    """Everything `train()` needs; the CLI maps its flags onto these fields."""

    data: Path = Path("data/photos")
    out: Path = Path("runs/mtsa")
    # -- model
    guided: bool = False
    constant_temperature: bool = False
    channels: int | None = None         # None: ModelConfig's default width
    attention_patch: int = 3            # MTSA matches 3 x 3 token patches (ModelConfig.attention_patch)
    prior: str | None = None            # None: the --init-from checkpoint's, else "telea"
    # -- data
    image_size: int = 256
    batch: int = 8
    workers: int | None = None          # None: 0 on the CPU (the step needs both cores); on
                                        # CUDA the free cores, since the CPU data is the bottleneck
    holdout: int = 0                    # photos reserved for evaluation, never trained on
    sketch_prob: float | None = None    # None: 0.5 when guided, else 0
    # -- schedule
    steps: int = 1000                   # total steps of the run (a resumed run continues to it)
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    adv_start: int = 2000               # adversarial + feature matching from this step on
    ema_decay: float = 0.999
    ema_warmup: bool = True             # decay ramps up as (1+n)/(10+n): early EMA tracks G
    weights: LossWeights = field(default_factory=LossWeights)
    # ST-LPIPS trunk: "vgg", "alex", "none", or "auto" = vgg on CUDA, alex elsewhere
    # (measured on one CPU core at 128 px, batch 8: a 1.4 s step grows by 3.6 s with vgg,
    # by 1.0 s with alex; docs/TRAINING.md)
    perceptual_net: str = "auto"
    # -- bookkeeping
    save_every: int = 500
    sample_every: int = 250
    sample_count: int = 4               # rows in the sample grid
    log_every: int | None = None       # None: every step on the CPU, every 10 on CUDA (each
                                        # report reads the losses back, which syncs the GPU)
    seed: int = 0
    time_limit_min: float | None = None  # stop (and save) after this many minutes of this session
    device: str = "auto"
    resume: bool = False
    init_from: Path | None = None
    # the --init-from checkpoint this run's weights started from; unlike init_from it is
    # kept across --resume, so exported checkpoints can count the steps behind them
    warm_start: Path | None = None
    # the SHA-256 of warm_start's weights when the run began: tells a later install of the
    # file at warm_start (this run shipped before) from the checkpoint the run started from
    warm_start_sha256: str | None = None

    def __post_init__(self) -> None:
        if self.warm_start is None and self.init_from is not None:
            self.warm_start = self.init_from

    @property
    def variant(self) -> str:
        """The engine name the exported checkpoint serves."""
        if self.constant_temperature:
            return "mtsa-const"
        return "mtsa-guided" if self.guided else "mtsa"

    @property
    def effective_sketch_prob(self) -> float:
        if self.sketch_prob is not None:
            return self.sketch_prob
        return 0.5 if self.guided else 0.0

    @property
    def adversarial(self) -> bool:
        """Whether the discriminator is ever trained in this run."""
        return self.steps > self.adv_start and (self.weights.adv > 0 or self.weights.fm > 0)

    def validate(self) -> None:
        """Raise ValueError with a one-line reason for settings that cannot train."""
        if self.image_size < 32 or self.image_size % 8:
            raise ValueError(f"--image-size must be a multiple of 8 and at least 32, got {self.image_size}")
        if self.batch < 1:
            raise ValueError(f"--batch must be at least 1, got {self.batch}")
        if self.steps < 1:
            raise ValueError(f"--steps must be at least 1, got {self.steps}")
        if self.lr <= 0:
            raise ValueError(f"--lr must be positive, got {self.lr}")
        if self.attention_patch < 1 or self.attention_patch % 2 == 0:
            raise ValueError(f"--attention-patch must be an odd number >= 1, got {self.attention_patch}")
        if self.sketch_prob is not None and not 0.0 <= self.sketch_prob <= 1.0:
            raise ValueError(f"--sketch-prob must lie in [0, 1], got {self.sketch_prob}")
        if self.channels is not None and (self.channels < 4 or self.channels % 2):
            raise ValueError(f"--channels must be an even number >= 4, got {self.channels}")
        if self.guided and self.constant_temperature:
            # the engines ship the constant-temperature ablation unguided only ("mtsa-const")
            raise ValueError("--constant-temperature is the unguided ablation; drop --guided")
        if self.save_every < 1 or self.sample_every < 0 or (self.log_every is not None and self.log_every < 1):
            raise ValueError("--save-every and --log-every must be >= 1, --sample-every >= 0")
        if (self.workers is not None and self.workers < 0) or self.holdout < 0:
            raise ValueError("--workers and --holdout must not be negative")
        if self.time_limit_min is not None and self.time_limit_min <= 0:
            raise ValueError(f"--time-limit must be positive, got {self.time_limit_min}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"--ema-decay must be in [0, 1), got {self.ema_decay}")
        if self.perceptual_net not in ("auto", "vgg", "alex", "none"):
            raise ValueError(f"--perceptual must be auto, vgg, alex or none, got {self.perceptual_net!r}")
        if self.resume and self.init_from is not None:
            raise ValueError("--resume continues a run, --init-from starts a new one: pick one")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for key in ("data", "out", "init_from", "warm_start"):
            d[key] = None if d[key] is None else str(d[key])
        d["betas"] = list(self.betas)
        d["variant"] = self.variant
        d["effective_sketch_prob"] = self.effective_sketch_prob
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["data"] = Path(kw.get("data", cls.data))
        kw["out"] = Path(kw.get("out", cls.out))
        for key in ("init_from", "warm_start"):
            if kw.get(key) is not None:
                kw[key] = Path(kw[key])
        if "betas" in kw:
            kw["betas"] = tuple(kw["betas"])
        if isinstance(kw.get("weights"), dict):
            kw["weights"] = LossWeights(**kw["weights"])
        return cls(**kw)
