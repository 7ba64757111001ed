"""``train``: train (or continue) an MTSA inpainting network on a folder of photos."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, TextIO

from app.commands.common import add_device_arg

NAME = "train"

EPILOG = """examples:
  python main.py train --data data/photos --out runs/mtsa --steps 2000
  python main.py train --data data/photos --out runs/mtsa --steps 4000 --resume
  python main.py train --data data/photos --out runs/guided --guided --init-from runs/mtsa/mtsa.pt
  python main.py train --data data/photos --out runs/const --constant-temperature
  torchrun --standalone --nproc-per-node 4 main.py train --data data/photos --out runs/ddp

Writes RUN_DIR/config.json, RUN_DIR/checkpoints/last.pt (resumable with --resume),
RUN_DIR/samples/step_*.png (masked input | prior | coarse | refined | target) and
RUN_DIR/<engine>.pt + .json: the EMA generator. To fill with it, point the app's weights
folder at the run (TEMPERA_WEIGHTS=RUN_DIR python main.py inpaint photo.jpg --mask hole.png
--engine mtsa; -v names the weights loaded), or score it beside the shipped one
(evaluate --checkpoint RUN_DIR/mtsa.pt model_weights/mtsa.pt). Ctrl+C saves a checkpoint at
the end of the current step; a second Ctrl+C stops at once. --batch is per process under torchrun. See docs/TRAINING.md."""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        NAME,
        help="train the inpainting network on a folder of photos",
        description="Train the MTSA inpainting network (resumable; multi-GPU with torchrun).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Optional values default to None so that --resume can tell "given" from "defaulted"
    # and keep the run's own settings for everything not given again.
    p.add_argument("--data", required=True, metavar="DIR", help="folder of training photos")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder (checkpoints, samples, config)")
    p.add_argument("--guided", action="store_true", default=None, help="train the sketch-guided variant")
    p.add_argument("--constant-temperature", action="store_true", default=None,
                   help="ablation: constant temperature 10 + zero-score masking (the DeepFill baseline)")
    p.add_argument("--image-size", type=int, default=None, metavar="PX", help="training crop size (default 256)")
    p.add_argument("--batch", type=int, default=None, metavar="N", help="images per step and process (default 8)")
    p.add_argument("--steps", type=int, default=None, metavar="N",
                   help="total steps; with --resume, the step to continue to (default 1000)")
    p.add_argument("--resume", action="store_true", help="continue RUN_DIR from checkpoints/last.pt")
    p.add_argument("--init-from", default=None, metavar="CHECKPOINT.pt",
                   help="start a new run from an exported engine checkpoint's weights (warm restart)")
    add_device_arg(p, default=None)  # None: not given (a --resume keeps the run's device)
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate for G and D (default 1e-4)")
    p.add_argument("--channels", type=int, default=None, help="generator base width (default: the model's)")
    p.add_argument("--adv-start", type=int, default=None, metavar="STEP",
                   help="switch the adversarial + feature-matching terms on at this step (default 2000)")
    p.add_argument("--perceptual", choices=("auto", "vgg", "alex", "none"), default=None,
                   help="ST-LPIPS trunk of the perceptual loss; auto = vgg on CUDA, alex on the CPU "
                        "(4x cheaper there) (default auto)")
    p.add_argument("--ema-decay", type=float, default=None, help="EMA decay of the exported generator (default 0.999)")
    p.add_argument("--save-every", type=int, default=None, metavar="N", help="checkpoint every N steps (default 500)")
    p.add_argument("--sample-every", type=int, default=None, metavar="N",
                   help="sample grid every N steps, 0 = never (default 250)")
    p.add_argument("--log-every", type=int, default=None, metavar="N",
                   help="progress every N steps (default 1 on the CPU, 10 on CUDA); in a log (stderr not a "
                        "terminal) the default prints a line every 10 s at most, an explicit N every N steps")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="data-loader processes per rank (default 0 on the CPU, the free cores on CUDA)")
    p.add_argument("--holdout", type=int, default=None, metavar="N",
                   help="also hold out N photos of DIR (besides DIR/split.json's) from training")
    p.add_argument("--seed", type=int, default=None, help="seed of weights, data order, crops and masks")
    p.add_argument("--attention-patch", type=int, default=None, metavar="N",
                   help="MTSA matches N x N patches of tokens (default 3; 1 = single tokens, as in the paper)")
    p.add_argument("--copy-weight", type=float, default=None, metavar="W",
                   help="weight of the attention copy loss that teaches each hole token where to borrow "
                        "from (default 1.0; 0 = the fill losses only)")
    p.add_argument("--prior", choices=("telea", "harmonic", "none"), default=None,
                   help="the classical fill the network refines: telea, harmonic (Laplace, strokes as "
                        "cuts) or none (default: the --init-from checkpoint's, else telea)")
    p.add_argument("--sketch-prob", type=float, default=None, metavar="P",
                   help="share of training samples that get a sketch (default 0.5 with --guided, else 0)")
    p.add_argument("--time-limit", type=float, default=None, metavar="MIN",
                   help="stop and save after MIN minutes of this session (fits a run into a GPU budget; "
                        "continue later with --resume)")
    p.set_defaults(func=run)
    return p


# argparse name -> TrainConfig field, for every option that maps one to one
_FIELDS = {
    "guided": "guided", "constant_temperature": "constant_temperature", "image_size": "image_size",
    "batch": "batch", "steps": "steps", "device": "device", "lr": "lr", "channels": "channels",
    "adv_start": "adv_start", "perceptual": "perceptual_net", "ema_decay": "ema_decay",
    "save_every": "save_every", "sample_every": "sample_every", "log_every": "log_every",
    "workers": "workers", "holdout": "holdout", "seed": "seed", "time_limit": "time_limit_min",
    "attention_patch": "attention_patch", "sketch_prob": "sketch_prob", "prior": "prior",
}


def build_config(args: argparse.Namespace) -> Any:
    """TrainConfig from the flags; with --resume the run's config.json fills the rest."""
    import json

    from app.training.config import TrainConfig
    from app.training.setup import run_dir_paths

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a run folder; choose a folder")
    paths = run_dir_paths(out)
    if args.resume:
        if not paths["last"].is_file():
            raise ValueError(f"--resume: {paths['last']} does not exist (nothing to continue)")
        base = TrainConfig.from_dict(json.loads(paths["config"].read_text())) if paths["config"].is_file() \
            else TrainConfig()
    else:
        if paths["last"].exists():
            raise ValueError(f"{out} already holds a run: pass --resume to continue it or choose another --out")
        base = TrainConfig()
    base.data, base.out, base.resume = Path(args.data), out, bool(args.resume)
    started_from = base.warm_start or base.init_from  # what a resumed run's config.json recorded
    base.init_from = Path(args.init_from) if args.init_from else None
    base.warm_start = base.init_from or started_from
    for arg, field in _FIELDS.items():
        value = getattr(args, arg)
        if value is not None:
            setattr(base, field, value)
    if args.copy_weight is not None:
        base.weights.copy = args.copy_weight
    if not base.data.is_dir():
        raise ValueError(f"--data {base.data} is not a folder")
    if base.init_from is not None and not base.init_from.is_file():
        raise ValueError(f"--init-from {base.init_from} does not exist")
    if base.init_from is not None:
        from app.inference.checkpoint import sha256_of
        base.warm_start_sha256 = sha256_of(base.init_from)
    return base


def _clock(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "--:--:--"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


_SHORT = {"l1_hole": "hole", "l1_valid": "valid", "perceptual": "perc", "adv": "adv", "fm": "fm", "copy": "copy",
          "g_total": "G", "d_hinge": "D"}


class ProgressBar:
    """One line on stderr: redrawn in place on a terminal, printed every few seconds in a log."""

    def __init__(self, stream: TextIO | None = None, width: int = 20, log_interval_s: float = 10.0) -> None:
        # resolved now, not at import: a default bound at import outlives a swapped stderr
        stream = stream or sys.stderr
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self.log_interval_s = log_interval_s
        self._last_log = 0.0
        self._drawn = False

    def line(self, e: dict[str, Any]) -> str:
        step, steps = e["step"], e["steps"]
        filled = int(self.width * step / max(steps, 1))
        losses = " ".join(f"{_SHORT.get(k, k)} {v:.3f}" for k, v in e["losses"].items())
        return (f"step {step}/{steps} [{'#' * filled}{'.' * (self.width - filled)}] {losses} | "
                f"{e['steps_per_s']:.2f} it/s {e['images_per_s']:.1f} img/s | ETA {_clock(e['eta_s'])}")

    def _say(self, text: str) -> None:
        if self._drawn:
            self.stream.write("\n")
            self._drawn = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def __call__(self, e: dict[str, Any]) -> None:
        kind = e["event"]
        if kind == "step":
            now = time.monotonic()
            if self.tty:
                self.stream.write("\r" + self.line(e) + "\033[K")
                self.stream.flush()
                self._drawn = True
            elif now - self._last_log >= self.log_interval_s or e["step"] == e["steps"] or e["step"] == 1:
                self._last_log = now
                self._say(self.line(e))
        elif kind == "start":
            self._say(f"training on {e['device']} x{e['world_size']}: {e['train_images']} photos "
                      f"({e['holdout_excluded']} held out), perceptual {e['perceptual']}, "
                      f"generator {e['generator_params'] / 1e6:.2f} M params, "
                      f"from step {e['step']} to {e['steps']}; run folder {e['run_dir']}")
        elif kind == "checkpoint":
            self._say(f"saved step {e['step']}: {e['last']} and {e['path']}")
        elif kind in ("done", "aborted", "time limit"):
            verb = {"done": "finished", "aborted": "stopped early", "time limit": "time limit reached, stopped"}[kind]
            self._say(f"{verb} at step {e['step']} ({_clock(e['wall_time_s'])} training time); "
                      f"engine checkpoint {e['path']}")
        elif kind == "interrupted":
            self._say(f"interrupted at step {e['step']}; checkpoint saved")


def _note_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
               file: TextIO | None = None, line: str | None = None) -> None:
    print(f"note: {' '.join(str(message).split())}", file=file or sys.stderr, flush=True)


class StopOnSignal:
    """The first Ctrl+C (SIGINT) or SIGTERM asks the loop to stop after the current step
    and save; a second one raises KeyboardInterrupt at once. SIGTERM matters under
    torchrun, whose agent answers Ctrl+C by sending SIGTERM to its workers, and on
    clusters that pre-empt jobs with it. A no-op off the main thread."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping after this step and saving (Ctrl+C again to quit now)", file=sys.stderr, flush=True)

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)


def run(args: argparse.Namespace) -> int:
    from app.core.errors import TemperaError

    try:
        config = build_config(args)
        config.validate()
        from app.training.loop import train  # heavy: torch and the model

        with StopOnSignal() as stop, warnings.catch_warnings():
            warnings.showwarning = _note_line  # e.g. an unreadable photo skipped: one line, no source
            # an explicit --log-every is obeyed in a log too; the default is throttled there
            bar = ProgressBar(log_interval_s=0.0 if args.log_every else 10.0)
            train(config, progress_fn=bar, abort_fn=stop)
    except (TemperaError, ValueError, FileNotFoundError, ImportError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except FloatingPointError as exc:  # diverged: last.pt still holds the last good state
        print(f"error: {exc}; resume from the last checkpoint with a lower --lr", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 130 if stop.requested else 0  # stopped early by Ctrl+C, checkpoint saved
