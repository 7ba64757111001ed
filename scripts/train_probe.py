"""A short `train` run that measures the steady training rate, for planning a GPU budget.

    python scripts/train_probe.py --probe-json probe.json -- --data D --out /tmp/p --steps 40 --batch 32 ...

Everything after ``--`` is `python main.py train`'s own arguments (same parser, same loop).
The progress line's rate averages from the first step, so on a GPU it carries the
data-loader start and cuDNN autotuning; this records the time of every progress event
instead and measures from the step ``--warmup`` on, which is what a longer run sustains.
Writes {"steps_per_s", "images_per_s", "batch", "steps", "warmup", "train_s", "wall_s"} to
``--probe-json`` and prints one line; exit status as `train`'s (2 when nothing was measured).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def steady_rate(events: list[tuple[float, int]], warmup: int) -> float | None:
    """Steps per second between the first event at or after ``warmup`` and the last one."""
    after = [e for e in events if e[1] >= warmup] or events[-2:]
    if len(after) < 2 or after[-1][1] <= after[0][1]:
        return None
    (t0, s0), (t1, s1) = after[0], after[-1]
    return (s1 - s0) / max(t1 - t0, 1e-9)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--probe-json", required=True, type=Path)
    p.add_argument("--warmup", type=int, default=10, help="steps left out of the rate (loader start, autotuning)")
    cut = argv.index("--") if "--" in argv else len(argv)
    args = p.parse_args(argv[:cut])

    from app.commands import train as train_cmd

    parser = argparse.ArgumentParser(prog="train_probe")
    train_cmd.register(parser.add_subparsers(dest="command"))
    targs = parser.parse_args(["train", *argv[cut + 1:]])
    start = time.perf_counter()
    try:
        config = train_cmd.build_config(targs)
        config.validate()
        from app.training.loop import train
    except (ValueError, FileNotFoundError, ImportError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2

    events: list[tuple[float, int]] = []
    bar = train_cmd.ProgressBar()

    def progress(e: dict[str, Any]) -> None:
        if e["event"] == "step":  # emitted right after the step's losses are read: the GPU is synced
            events.append((time.perf_counter(), int(e["step"])))
        bar(e)

    status = 0
    try:
        with train_cmd.StopOnSignal() as stop:
            train(config, progress_fn=progress, abort_fn=stop)
        status = 130 if stop.requested else 0
    except Exception as exc:  # noqa: BLE001 - report what was measured before the failure
        print(f"error: {type(exc).__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
        status = 1
    wall = time.perf_counter() - start
    warmup = min(args.warmup, max(config.steps // 3, 1))
    rate = steady_rate(events, warmup)
    if rate is None:
        print("probe: too few progress events to measure a rate (lower --log-every or raise --steps)", file=sys.stderr)
        return status or 2
    out = {"steps_per_s": rate, "images_per_s": rate * config.batch, "batch": config.batch,
           "image_size": config.image_size, "steps": events[-1][1], "warmup": warmup,
           "train_s": events[-1][0] - start, "wall_s": wall, "device": str(config.device),
           "workers": config.workers}
    args.probe_json.parent.mkdir(parents=True, exist_ok=True)
    args.probe_json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"probe: {rate:.2f} steps/s = {rate * config.batch:.1f} images/s at {config.image_size} px, batch "
          f"{config.batch} (steps {warmup}..{events[-1][1]}; {wall:.1f} s in all)")
    return status


if __name__ == "__main__":
    sys.exit(main())
