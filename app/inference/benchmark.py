"""Speed and memory of each engine at each size, measured side by side in one run.

The network engines use the installed checkpoints when there are any and random weights
otherwise (speed does not depend on the weights). The constant-temperature ablation and
OpenCV's fills run beside them on the same inputs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from app.model import InpaintGenerator, ModelConfig

from .device import describe
from .engines import ClassicalEngine, Engine, NetworkEngine, installed_checkpoints
from .memory import PeakSampler
from .predict import predict

BENCH_ENGINES = ("telea", "ns", "mtsa", "mtsa-const", "mtsa-guided")


@dataclass
class BenchRow:
    engine: str
    size: int
    device: str
    weights: str  # "trained", "random" or "-" for classical
    median_ms: float
    min_ms: float
    peak_mb: float
    gmacs: float | None
    repeats: int


def bench_inputs(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A textured test image with a fixed ~25 % hole and a stroke through it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = np.stack([np.sin(xx * 9) * 60 + 120, np.cos(yy * 7) * 60 + 120, (xx + yy) * 60 + 60], -1)
    rgb = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((size, size), bool)
    q = size // 4
    mask[q : q + size // 2, q : q + size // 2] = True  # 25 % of the image
    sketch = np.zeros((size, size), np.uint8)
    sketch[size // 2, q : q + size // 2] = 255
    return rgb, mask, sketch


def _network(name: str, device: torch.device, weights_dir: Path | None) -> tuple[Engine, str]:
    checkpoints = installed_checkpoints(weights_dir)
    if name in checkpoints:
        return NetworkEngine.from_checkpoint(name, checkpoints[name], device), "trained"
    torch.manual_seed(0)
    config = ModelConfig(guided=name == "mtsa-guided", constant_temperature=name == "mtsa-const")
    return NetworkEngine(name, InpaintGenerator(config), device), "random"


def _gmacs(engine: Engine, rgb, mask, sketch) -> float | None:
    if not isinstance(engine, NetworkEngine):
        return None
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        predict(engine.generator, rgb, mask, sketch if engine.guided else None, device=engine.torch_device)
    return counter.get_total_flops() / 2e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def run_benchmark(
    sizes: list[int],
    device: torch.device,
    *,
    engines: tuple[str, ...] = BENCH_ENGINES,
    repeats: int = 5,
    weights_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[BenchRow]:
    rows = []
    for name in engines:
        if name in ("telea", "ns"):
            engine, weights, dev = ClassicalEngine(name), "-", torch.device("cpu")
        else:
            engine, weights = _network(name, device, weights_dir)
            dev = device
        for size in sizes:
            rgb, mask, sketch = bench_inputs(size)
            if progress:
                progress(f"{name} @ {size}")
            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats(dev)
                base = torch.cuda.memory_allocated(dev)
            times = []
            # the sampler spans the warm-up too: that is when the buffers get allocated
            with PeakSampler() as mem:
                engine.fill(rgb, mask, sketch)  # warm-up: allocator, kernels, caches
                _sync(dev)
                for _ in range(repeats):
                    start = time.perf_counter()
                    engine.fill(rgb, mask, sketch)
                    _sync(dev)
                    times.append((time.perf_counter() - start) * 1000)
            peak = (torch.cuda.max_memory_allocated(dev) - base) / 2**20 if dev.type == "cuda" else mem.delta_mb
            rows.append(
                BenchRow(
                    engine=name,
                    size=size,
                    device=describe(dev),
                    weights=weights,
                    median_ms=statistics.median(times),
                    min_ms=min(times),
                    peak_mb=max(0.0, peak),
                    gmacs=_gmacs(engine, rgb, mask, sketch),
                    repeats=repeats,
                )
            )
    return rows


def format_table(rows: list[BenchRow]) -> str:
    header = "| engine | size | device | weights | median ms | min ms | peak MB | GMACs |"
    lines = [header, "|---|---:|---|---|---:|---:|---:|---:|"]
    for r in rows:
        gmacs = f"{r.gmacs:.1f}" if r.gmacs is not None else "-"
        lines.append(
            f"| {r.engine} | {r.size} | {r.device} | {r.weights} "
            f"| {r.median_ms:.1f} | {r.min_ms:.1f} | {r.peak_mb:.0f} | {gmacs} |"
        )
    return "\n".join(lines)


def rows_as_dicts(rows: list[BenchRow]) -> list[dict]:
    return [asdict(r) for r in rows]
