"""The training loop: generator and discriminator phases, EMA, checkpoints, samples.

`train()` does not know its caller (CLI, a test, a notebook): it reports through
`progress_fn(event: dict)` and stops cleanly when `abort_fn()` returns True. Under
`torchrun` every rank runs this same function; rank 0 alone writes files and reports.

One step:
  g_step  generator forward, L1 (both stages) + perceptual [+ hinge adversarial + feature
          matching once step >= adv_start], Adam step, EMA update
  d_step  (only in the adversarial phase) hinge loss on real vs the composited fill
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader

from app.core.atomic import atomic_write_text, ensure_folder
from app.data.sampler import StepBatchSampler
from app.model import InpaintGenerator, ModelConfig, PatchDiscriminator
from app.training import distributed
from app.training.checkpoints import capture_rng, load_train_state, restore_rng, save_train_state
from app.training.config import TrainConfig
from app.training.data import build_datasets, collate
from app.training.ema import EMA
from app.training.losses import PerceptualFn, composite, d_hinge_loss, discriminator_input, generator_loss
from app.training.samples import sample_grid, save_grid
from app.training.setup import (
    Batch,
    default_workers,
    exported_path,
    has_unused_parameters,
    initial_model,
    load_perceptual,
    loss_summary,
    run_dir_paths,
)

ProgressFn = Callable[[dict[str, Any]], None]
AbortFn = Callable[[], bool]
_SAMPLE_EPOCH = 2**31 - 1  # the sample grid's own 'epoch': crops and holes no training step draws


class Trainer:
    """State of one run on one rank; `run()` drives it."""

    def __init__(self, config: TrainConfig, *, progress_fn: ProgressFn | None, abort_fn: AbortFn | None,
                 perceptual_fn: PerceptualFn | None, use_perceptual_default: bool) -> None:
        from app.inference.device import resolve_device

        self.config = config
        self.progress_fn = progress_fn
        self.abort_fn = abort_fn
        requested = resolve_device(config.device)
        self.dist = distributed.init_from_env(requested.type)
        self.device = distributed.local_device(requested, self.dist)
        self.is_main = self.dist.is_main
        self.cuda = self.device.type == "cuda"
        self.paths = run_dir_paths(config.out)
        if self.cuda:
            # bf16 autocast needs no loss scaling; TF32 for what stays in fp32
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

        torch.manual_seed(config.seed)  # same initial weights on every rank
        self.model_config, init_state = initial_model(config)
        config.channels = self.model_config.channels  # resolved, so config.json rebuilds this net
        config.prior = self.model_config.prior  # and the data set builds the prior it refines
        self.G_raw = InpaintGenerator(self.model_config)
        if init_state is not None:
            self.G_raw.load_state_dict(init_state)
        self.D_raw = PatchDiscriminator(in_channels=5, channels=2 * self.model_config.channels)
        fmt = torch.channels_last if self.cuda else torch.contiguous_format
        self.G_raw.to(self.device, memory_format=fmt).train()
        self.D_raw.to(self.device, memory_format=fmt).train()
        self.ema = EMA(self.G_raw, decay=config.ema_decay, warmup=config.ema_warmup)
        self.opt_g = torch.optim.Adam(self.G_raw.parameters(), lr=config.lr, betas=config.betas)
        self.opt_d = torch.optim.Adam(self.D_raw.parameters(), lr=config.lr, betas=config.betas)
        if config.workers is None:
            config.workers = default_workers(self.cuda, self.dist.world_size)
        if config.log_every is None:
            config.log_every = 10 if self.cuda else 1
        if config.perceptual_net == "auto":  # resolved once, then recorded in config.json
            config.perceptual_net = "vgg" if self.cuda else "alex"
        if perceptual_fn is None and use_perceptual_default:
            perceptual_fn = load_perceptual(config, self.device)
        self.perceptual_fn = perceptual_fn

        self.step = 0
        self.images_seen = 0  # counted, not step * batch: batch and world size may change on resume
        self.wall_time_s = 0.0
        if config.resume:
            self._resume()

        if self.dist.enabled:
            ids = [self.device.index] if self.cuda else None
            unused = has_unused_parameters(self.G_raw, self.model_config, self.device)
            self.G: nn.Module = DDP(self.G_raw, device_ids=ids, find_unused_parameters=unused)
            self.D: nn.Module = DDP(self.D_raw, device_ids=ids)
        else:
            self.G, self.D = self.G_raw, self.D_raw

        self.train_set, self.held_out = build_datasets(config)
        self.n_holdout = len(self.held_out)
        self.sample_batch = self._fixed_samples() if self.is_main and config.sample_every > 0 else None

    # ------------------------------------------------------------------ set-up helpers
    def _resume(self) -> None:
        path = self.paths["last"]
        if not path.is_file():
            raise ValueError(f"--resume: {path} does not exist")
        # on the CPU: load_state_dict copies onto each parameter's device, and the RNG
        # states must stay CPU tensors whichever device wrote them
        state = load_train_state(path, device="cpu")
        saved = ModelConfig.from_dict(state["model_config"])
        if saved != self.model_config:
            raise ValueError(f"--resume: {path} holds a different model: {_differences(saved, self.model_config)}; "
                             "pass the run's flags")
        self.G_raw.load_state_dict(state["generator"])
        self.D_raw.load_state_dict(state["discriminator"])
        self.ema.load_state_dict(state["ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        for opt in (self.opt_g, self.opt_d):  # --lr may change on resume (documented)
            for group in opt.param_groups:
                group["lr"] = self.config.lr
        self.step = int(state["step"])
        if self.step >= self.config.steps:
            raise ValueError(f"{path} is already at step {self.step}; pass --steps above it to continue")
        # checkpoints written before images were counted: assume the batch never changed
        self.images_seen = int(state.get("images_seen", self.step * self.config.batch * self.dist.world_size))
        self.wall_time_s = float(state["wall_time_s"])
        restore_rng(state["rng"])

    def _fixed_samples(self) -> Batch:
        """The same photos, crops and holes at every sample step (seeded apart from training)."""
        n = len(self.train_set)
        k = min(self.config.sample_count, n)
        picks = [(i * n // k, _SAMPLE_EPOCH) for i in range(k)]
        return Batch.from_loader(collate([self.train_set[p] for p in picks]), self.device, self.cuda)

    def _loader(self) -> DataLoader:
        sampler = StepBatchSampler(len(self.train_set), self.config.batch, seed=self.config.seed,
                                   start_step=self.step, total_steps=self.config.steps,
                                   rank=self.dist.rank, world_size=self.dist.world_size)
        workers = self.config.workers
        return DataLoader(self.train_set, batch_sampler=sampler, num_workers=workers, collate_fn=collate,
                          pin_memory=self.cuda, persistent_workers=False,
                          prefetch_factor=4 if workers > 0 else None)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.cuda:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()  # fp32 on the CPU: bf16 there is slower, not faster

    # ------------------------------------------------------------------ the two phases
    def g_step(self, batch: Batch, adversarial: bool) -> tuple[Tensor, dict[str, Tensor]]:
        """One generator update. Returns the composited fill (detached) for d_step."""
        with self._autocast():
            copy = self.config.weights.copy > 0
            out = self.G(batch.image, batch.mask, batch.sketch, batch.prior, weights=copy)
            fake = composite(out.refined, batch.image, batch.mask)
            fake_logits = fake_feats = real_feats = None
            if adversarial:
                # D is a fixed judge here: its own update is d_step's; calling the unwrapped
                # module keeps DDP from expecting D gradients in this backward pass
                self.D_raw.requires_grad_(False)
                both = torch.cat([discriminator_input(fake, batch.mask, batch.sketch),
                                  discriminator_input(batch.image, batch.mask, batch.sketch)])
                logits, feats = self.D_raw(both)
                b = batch.image.shape[0]
                fake_logits = logits[:b]
                fake_feats = [f[:b] for f in feats]
                real_feats = [f[b:].detach() for f in feats]
            loss, logs = generator_loss(coarse=out.coarse.float(), refined=out.refined.float(),
                                        target=batch.image, mask=batch.mask, weights=self.config.weights,
                                        perceptual_fn=self.perceptual_fn, fake_logits=fake_logits,
                                        fake_feats=fake_feats, real_feats=real_feats,
                                        attention=(out.attention_weights, out.hole_grid) if copy else None)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        self.ema.update(self.G_raw)
        return fake.detach(), logs

    def d_step(self, batch: Batch, fake: Tensor) -> dict[str, Tensor]:
        """One discriminator update on real vs composited fill, one forward for both."""
        self.D_raw.requires_grad_(True)
        with self._autocast():
            both = torch.cat([discriminator_input(batch.image, batch.mask, batch.sketch),
                              discriminator_input(fake, batch.mask, batch.sketch)])
            logits, _ = self.D(both)
            b = batch.image.shape[0]
            loss = d_hinge_loss(logits[:b].float(), logits[b:].float())
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return {"d_hinge": loss.detach()}

    # ------------------------------------------------------------------ outputs
    def _emit(self, event: dict[str, Any]) -> None:
        if self.is_main and self.progress_fn is not None:
            self.progress_fn(event)

    def _meta(self) -> dict[str, Any]:
        from app.inference.device import describe

        hardware = describe(self.device)
        if self.device.type == "cpu":
            hardware += f" ({torch.get_num_threads()} threads)"
        if self.dist.enabled:
            hardware += f" x {self.dist.world_size} processes"
        return {
            "steps": self.step,
            "images_seen": self.images_seen,
            "image_size": self.config.image_size,
            "batch": self.config.batch * self.dist.world_size,
            "wall_time_s": round(self.wall_time_s, 1),
            "hardware": hardware,
            "data": {"path": str(self.config.data), "train_images": len(self.train_set),
                     "holdout_excluded": self.n_holdout},
            "losses": loss_summary(config=self.config, perceptual=self.perceptual_fn is not None),
            "init_from": None if self.config.warm_start is None else str(self.config.warm_start),
            "init_sha256": self.config.warm_start_sha256,
        }

    def save(self, *, collective: bool = True) -> Path:
        """last.pt (resumable) and the exported EMA generator. With `collective` every rank
        must call it (the replicas' weights are compared first); without, rank 0 saves alone
        (after a KeyboardInterrupt the other ranks may be gone)."""
        sums = distributed.param_checksums(self.G_raw, self.dist, self.device) if collective else []
        if not self.is_main:
            return exported_path(self.config)
        if len(set(sums)) > 1:
            raise RuntimeError(f"DDP replicas diverged (weight checksums {sums}); not saving")
        from app.inference.checkpoint import save_checkpoint

        state = {
            "generator": self.G_raw.state_dict(), "discriminator": self.D_raw.state_dict(),
            "ema": self.ema.state_dict(), "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "step": self.step, "images_seen": self.images_seen, "wall_time_s": self.wall_time_s,
            "rng": capture_rng(),
            "model_config": self.model_config.to_dict(), "train_config": self.config.to_dict(),
        }
        save_train_state(self.paths["last"], state)
        meta = self._meta()
        if self.dist.enabled and sums:
            meta["ddp_weight_checksums"] = sums
        path = save_checkpoint(exported_path(self.config), self.ema.module, self.model_config, meta)
        self._emit({"event": "checkpoint", "step": self.step, "path": str(path), "last": str(self.paths["last"])})
        return path

    @torch.no_grad()
    def sample(self) -> Path | None:
        if self.sample_batch is None:
            return None
        b = self.sample_batch
        with self._autocast():
            out = self.ema.module(b.image, b.mask, b.sketch, b.prior)
        grid = sample_grid(b.image, b.mask, b.sketch, b.prior, out.coarse.float(), out.refined.float())
        path = save_grid(self.paths["samples"] / f"step_{self.step:07d}.png", grid)
        self._emit({"event": "sample", "step": self.step, "path": str(path)})
        return path

    def write_config(self) -> None:
        if not self.is_main:
            return
        ensure_folder(self.config.out, "--out")
        resolved = self.config.to_dict()
        resolved["model"] = self.model_config.to_dict()
        resolved["world_size"] = self.dist.world_size
        resolved["resolved_device"] = str(self.device)
        atomic_write_text(self.paths["config"], json.dumps(resolved, indent=2, sort_keys=True) + "\n")
        # the photos training never saw: the only fair evaluation set for this run
        held = "".join(f"{p}\n" for p in sorted(str(p) for p in self.held_out))
        atomic_write_text(self.paths["holdout"], held)

    # ------------------------------------------------------------------ the loop
    def _eta(self, rate: float, session_start: float) -> float | None:
        """Seconds to the end of this session: to --steps at the current rate, or to
        --time-limit when that comes first."""
        if rate <= 0:
            return None
        eta = (self.config.steps - self.step) / rate
        if self.config.time_limit_min is not None:
            left = 60.0 * self.config.time_limit_min - (time.perf_counter() - session_start)
            eta = min(eta, max(0.0, left))
        return eta

    def _stop_reason(self, session_start: float) -> str | None:
        """"aborted" (abort_fn), "time limit" (--time-limit) or None; the same on every rank."""
        reason = 0
        if self.abort_fn is not None and self.abort_fn():
            reason = 1
        elif self.config.time_limit_min is not None and \
                time.perf_counter() - session_start >= 60.0 * self.config.time_limit_min:
            reason = 2
        reason = distributed.max_int(reason, self.dist, self.device)
        return {0: None, 1: "aborted", 2: "time limit"}[reason]

    def run(self) -> Path:
        cfg = self.config
        self.write_config()
        n_params = sum(p.numel() for p in self.G_raw.parameters())
        self._emit({"event": "start", "step": self.step, "steps": cfg.steps, "device": str(self.device),
                    "perceptual": cfg.perceptual_net if self.perceptual_fn is not None else "none",
                    "world_size": self.dist.world_size, "generator_params": n_params,
                    "train_images": len(self.train_set), "holdout_excluded": self.n_holdout,
                    "run_dir": str(cfg.out)})
        if self.step == 0:
            self.sample()
        images_per_step = cfg.batch * self.dist.world_size
        sums: dict[str, Tensor] = {}
        # the rate counts training time only (data + steps), not saving or sampling
        window_start, window_steps = self.wall_time_s, 0
        rate: float | None = None
        stopped = "done"
        last_tick = session_start = time.perf_counter()
        try:
            for data in self._loader():
                # under DDP the stop flag is a collective (a GPU sync): ask at report steps only
                ask = not self.dist.enabled or self.step % cfg.log_every == 0
                reason = self._stop_reason(session_start) if ask else None
                if reason is not None:
                    stopped = reason
                    break
                batch = Batch.from_loader(data, self.device, self.cuda)
                adversarial = cfg.adversarial and self.step >= cfg.adv_start
                fake, logs = self.g_step(batch, adversarial)
                if adversarial:
                    logs.update(self.d_step(batch, fake))
                self.step += 1
                self.images_seen += images_per_step
                now = time.perf_counter()
                self.wall_time_s += now - last_tick
                last_tick = now
                for k, v in logs.items():
                    sums[k] = sums.get(k, 0.0) + v
                window_steps += 1
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    losses = {k: float(v) / window_steps for k, v in sums.items()}  # one sync per log
                    measured = window_steps / max(self.wall_time_s - window_start, 1e-9)
                    rate = measured if rate is None else 0.7 * rate + 0.3 * measured
                    if not all(math.isfinite(v) for v in losses.values()):
                        raise FloatingPointError(f"non-finite loss at step {self.step}: {losses}")
                    self._emit({"event": "step", "step": self.step, "steps": cfg.steps, "losses": losses,
                                "adversarial": adversarial, "steps_per_s": rate,
                                "images_per_s": rate * images_per_step,
                                "images_seen": self.images_seen,
                                "eta_s": self._eta(rate, session_start)})
                    sums, window_start, window_steps = {}, self.wall_time_s, 0
                if self.step % cfg.save_every == 0 and self.step < cfg.steps:
                    self.save()
                if cfg.sample_every and self.step % cfg.sample_every == 0:
                    self.sample()
                last_tick = time.perf_counter()  # saving and sampling are not training time
        except KeyboardInterrupt:
            # Ctrl+C without a handler that turns it into abort_fn: save what there is
            self.save(collective=False)
            self._emit({"event": "interrupted", "step": self.step})
            raise
        path = self.save()
        if cfg.sample_every and self.step % cfg.sample_every != 0:
            self.sample()
        self._emit({"event": stopped, "step": self.step, "steps": cfg.steps, "path": str(path),
                    "wall_time_s": self.wall_time_s})
        return path


def train(config: TrainConfig, *, progress_fn: ProgressFn | None = None, abort_fn: AbortFn | None = None,
          perceptual_fn: PerceptualFn | None = None) -> Path:
    """Train (or continue) one run; returns the exported engine checkpoint's path.

    `perceptual_fn` replaces the ST-LPIPS network (tests inject a cheap one); with None the
    network named by `config.perceptual_net` is loaded, unless that is "none".
    Raises ValueError for settings or data that cannot train.
    """
    config.validate()
    trainer = None
    try:
        trainer = Trainer(config, progress_fn=progress_fn, abort_fn=abort_fn, perceptual_fn=perceptual_fn,
                          use_perceptual_default=perceptual_fn is None)
        path = trainer.run()
        # rank 0 may still be writing the checkpoint when the others finish: tearing the
        # process group down under it aborts the early rank in gloo's C++ threads (SIGABRT)
        distributed.finish_together(trainer.dist)
        return path
    finally:
        if trainer is not None:
            distributed.cleanup(trainer.dist)
        elif distributed.env_world_size() > 1:
            distributed.cleanup(distributed.DistInfo(world_size=distributed.env_world_size()))


_FLAGS = {"guided": "--guided", "constant_temperature": "--constant-temperature"}


def _differences(saved: ModelConfig, asked: ModelConfig) -> str:
    """What a run's model and the flags given differ in, in words (the run was trained
    without --guided, ...), instead of two config dumps."""
    said = []
    for f in dataclasses.fields(ModelConfig):
        old, new = getattr(saved, f.name), getattr(asked, f.name)
        if old == new:
            continue
        if f.name in _FLAGS:
            said.append(f"the run was trained {'with' if old else 'without'} {_FLAGS[f.name]}")
        else:
            said.append(f"its {f.name} is {old!r}, these flags make {new!r}")
    return "; ".join(said)
