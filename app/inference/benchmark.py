"""Speed and memory of each engine at each size, measured side by side in one run.

The network engines use the installed checkpoints when there are any and random weights
otherwise (speed does not depend on the weights). The constant-temperature ablation,
PatchMatch and OpenCV's fills run beside them on the same inputs. Besides the square
sizes (a 25 % hole), ``large=True`` adds a 24 MP photo with a 200 x 150 hole, with six
such holes (several distractions or dust spots removed in one fill) and with a 5 % hole,
the cases a photographer's camera files make; the first of them is timed after one
untimed fill, like the squares, the other two once each.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from app.core.errors import TemperaError
from app.core.names import BENCH_STROKES
from app.model import InpaintGenerator, ModelConfig

from .device import describe
from .engines import Engine, NetworkEngine, installed_checkpoints, load_engine
from .memory import PeakSampler
from .predict import predict

BENCH_ENGINES = ("telea", "ns", "patchmatch", "mtsa", "mtsa-const", "mtsa-guided", "mtsa-texture", "auto")
LARGE_WH = (6000, 4000)  # 24 MP


@dataclass
class BenchCase:
    label: str
    rgb: np.ndarray
    mask: np.ndarray
    sketch: np.ndarray | None


@dataclass
class BenchRow:
    engine: str
    size: int  # the image's long side
    device: str
    weights: str  # "trained", "random" or "-" for classical
    median_ms: float
    min_ms: float
    peak_mb: float
    gmacs: float | None
    repeats: int
    case: str = ""  # "512" (a square with a 25 % hole), "512 stroke" (the same with a sketch stroke
    # through the hole), "24MP 200x150" / "24MP 6x200x150" / "24MP 5%"


def bench_inputs(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A textured test image with a fixed ~25 % hole, and a sketch with a stroke through it."""
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


def large_cases(seed: int = 0) -> list[BenchCase]:
    """A 24 MP photo with a 200 x 150 hole, with six of them (two rows of three, far
    apart), and with a 5 % hole (a 1095 x 1095 square)."""
    w, h = LARGE_WH
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (h // 50, w // 50, 3), dtype=np.uint8)
    rgb = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    rgb = np.clip(rgb.astype(np.int16) + rng.integers(-12, 13, rgb.shape, dtype=np.int16), 0, 255).astype(np.uint8)
    def holes(bw: int, bh: int, centres: list[tuple[int, int]]) -> np.ndarray:
        mask = np.zeros((h, w), bool)
        for cy, cx in centres:
            y0, x0 = cy - (bh + 1) // 2, cx - (bw + 1) // 2  # centred as (h - bh) // 2 puts it
            mask[y0 : y0 + bh, x0 : x0 + bw] = True
        return mask

    spots = [(h * r // 4, w * c // 6) for r in (1, 3) for c in (1, 3, 5)]
    return [BenchCase("24MP 200x150", rgb, holes(200, 150, [(h // 2, w // 2)]), None),
            BenchCase("24MP 6x200x150", rgb, holes(200, 150, spots), None),
            BenchCase("24MP 5%", rgb, holes(1095, 1095, [(h // 2, w // 2)]), None)]


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


def _engine(name: str, device: torch.device, weights_dir: Path | None) -> tuple[Engine, str, torch.device]:
    if name in ("telea", "ns", "patchmatch"):
        return load_engine(name, "cpu"), "-", torch.device("cpu")
    if name in ("mtsa-texture", "auto"):
        weights = "trained" if "mtsa" in installed_checkpoints(weights_dir) else "-"
        return load_engine(name, device, weights_dir), weights, device
    engine, weights = _network(name, device, weights_dir)
    return engine, weights, device


def run_benchmark(
    sizes: list[int],
    device: torch.device,
    *,
    engines: tuple[str, ...] = BENCH_ENGINES,
    repeats: int = 5,
    large: bool = False,
    strokes: str = "both",
    weights_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[BenchRow]:
    """One row per engine and case; an engine that cannot be had here (PatchMatch's
    library missing, no checkpoint for the texture engine) is reported and skipped.
    ``strokes``: the square holes "without" a sketch, "with" a stroke through them (the
    guided path), or "both"."""
    if strokes not in BENCH_STROKES:
        raise TemperaError(f"strokes must be one of {', '.join(BENCH_STROKES)}, got {strokes!r}")
    cases = []
    for size in sizes:
        rgb, mask, sketch = bench_inputs(size)
        if strokes in ("without", "both"):
            cases.append(BenchCase(str(size), rgb, mask, None))
        if strokes in ("with", "both"):
            cases.append(BenchCase(f"{size} stroke", rgb, mask, sketch))
    first_large = None
    if large:
        photos = large_cases()
        first_large = photos[0]  # 24MP 200x150
        cases += photos
    rows = []
    for name in engines:
        try:
            engine, weights, dev = _engine(name, device, weights_dir)
        except TemperaError as exc:
            if progress:
                progress(f"{name}: skipped ({exc})")
            continue
        for case in cases:
            rgb, mask, sketch = case.rgb, case.mask, case.sketch
            if progress:
                progress(f"{name} @ {case.label}")
            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats(dev)
                base = torch.cuda.memory_allocated(dev)
            times = []
            # the sampler spans the warm-up too: that is when the buffers get allocated
            big = rgb.size > 4_000_000
            with PeakSampler() as mem:
                # warm-up: allocator, kernels, caches; of the 24 MP cases only the first (a
                # second to fill): the others would cost each engine a minute more. Without
                # one, a fresh process's first touch of its new memory is timed with the fill.
                # The first is also timed ``repeats`` times, as the small cases are: one fill
                # of a second on a 24 MP photo now and then takes twice as long (the memory
                # it touches), and its target (under 1 s) is read from the median.
                quick = not big or case is first_large
                if quick:
                    engine.fill(rgb, mask, sketch)
                _sync(dev)
                for _ in range(repeats if quick else 1):
                    start = time.perf_counter()
                    result = engine.fill(rgb, mask, sketch)
                    _sync(dev)
                    times.append((time.perf_counter() - start) * 1000)
            peak = (torch.cuda.max_memory_allocated(dev) - base) / 2**20 if dev.type == "cuda" else mem.delta_mb
            used = name if result.engine == name else f"{name} ({result.engine})"
            rows.append(
                BenchRow(
                    engine=used,
                    size=max(rgb.shape[:2]),
                    device=describe(dev),
                    weights=weights,
                    median_ms=statistics.median(times),
                    min_ms=min(times),
                    peak_mb=max(0.0, peak),
                    gmacs=None if big else _gmacs(engine, rgb, mask, sketch),
                    repeats=len(times),
                    case=case.label,
                )
            )
    return rows


def format_table(rows: list[BenchRow]) -> str:
    header = "| engine | size | device | weights | median ms | min ms | peak MB | GMACs |"
    lines = [header, "|---|---:|---|---|---:|---:|---:|---:|"]
    for r in rows:
        gmacs = f"{r.gmacs:.1f}" if r.gmacs is not None else "-"
        lines.append(
            f"| {r.engine} | {r.case or r.size} | {r.device} | {r.weights} "
            f"| {r.median_ms:.1f} | {r.min_ms:.1f} | {r.peak_mb:.0f} | {gmacs} |"
        )
    return "\n".join(lines)


def rows_as_dicts(rows: list[BenchRow]) -> list[dict]:
    return [asdict(r) for r in rows]
