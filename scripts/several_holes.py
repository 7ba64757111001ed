"""Several holes in one large photo: what searching them at once and the texture stage's
large-photo shortcuts buy, measured as docs/RESULTS.md ("Separate holes at once") reports it.

    python scripts/several_holes.py timing                                  # the 24 MP benchmark photo
    python scripts/several_holes.py quality --data data/photos/holdout      # held-out photos at native size

``timing`` fills the benchmark's 24 MP photo (one 200 x 150 hole, and six) in one process,
the variants interleaved, three rounds: PatchMatch with its crops one by one and at once;
``auto`` with the crops one by one, the network's crops at full size and one box for the
join (as before session 18), then with each change added. ``quality`` fills the held-out
photos whose long side exceeds 800 px at their native size (object outlines of 5-15 % and
six spots per photo) with ``auto`` with the network's crops at full size and at the work
scale, and PatchMatch; it prints ST-LPIPS-vgg (on a box around each hole), PSNR in the hole
and how far the two ``auto`` fills lie apart.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from app.inference import patchmatch, texture
from app.inference import predict as predict_mod
from app.inference.engines import load_engine

FULL_SIZE = 10**9  # a MIN_CROP_SIDE that keeps every crop at full size (before session 18)


class _OneBox(texture._Layout):
    """The join as it was before session 18: one box over all the holes."""

    def __init__(self, mask, base, method, sigma, depth, strokes=None, join=texture.JOIN,
                 limit=texture.GENTLE_LIMIT):
        super().__init__(mask, base, method, sigma, depth, strokes, join, limit)


_SEARCH_THREADS, _JOINS, _MIN_CROP_SIDE = patchmatch.search_threads, texture._Joins, predict_mod.MIN_CROP_SIDE


def _set(*, crops_at_once: bool, crop_side: int, grouped_join: bool) -> None:
    patchmatch.search_threads = _SEARCH_THREADS if crops_at_once else (lambda regions: 1)
    predict_mod.MIN_CROP_SIDE = crop_side
    texture._Joins = _JOINS if grouped_join else _OneBox


def timing(rounds: int) -> None:
    from app.inference.benchmark import large_cases

    pm, auto = load_engine("patchmatch"), load_engine("auto", "cpu")
    variants = {
        "patchmatch, crops one by one": (pm, False, _MIN_CROP_SIDE, True),
        "patchmatch, crops at once": (pm, True, _MIN_CROP_SIDE, True),
        "auto as before (one by one, network crops full size, one join box)": (auto, False, FULL_SIZE, False),
        "auto, + crops at once": (auto, True, FULL_SIZE, False),
        "auto, + network crops at the work scale": (auto, True, _MIN_CROP_SIDE, False),
        "auto, + a join box per group of holes (as shipped)": (auto, True, _MIN_CROP_SIDE, True),
    }
    cases = [c for c in large_cases() if c.label != "24MP 5%"]
    times: dict[tuple[str, str], list[float]] = {(c.label, v): [] for c in cases for v in variants}
    for _ in range(rounds):
        for case in cases:
            for name, (engine, at_once, side, grouped) in variants.items():
                _set(crops_at_once=at_once, crop_side=side, grouped_join=grouped)
                start = time.perf_counter()
                engine.fill(case.rgb, case.mask)
                times[(case.label, name)].append(time.perf_counter() - start)
    print("| case | variant | median ms | each round, ms |\n|---|---|---:|---|")
    for (label, name), ts in times.items():
        each = " / ".join(f"{t * 1000:,.0f}" for t in ts)
        print(f"| {label} | {name} | {statistics.median(ts) * 1000:,.0f} | {each} |")


def _box_vgg(scorer, out: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    import torch

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float() / 127.5 - 1

    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    scores = []
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        box = (slice(max(0, y - 32), y + h + 32), slice(max(0, x - 32), x + w + 32))
        with torch.no_grad():
            scores.append(float(scorer(tensor(out[box]), tensor(truth[box]))))
    return float(np.mean(scores))


def quality(data: Path) -> None:
    from PIL import Image

    from app.data.masks import make_mask_generator
    from app.evaluation.metrics import psnr
    from app.evaluation.perceptual import STLPIPS

    vgg = STLPIPS("vgg")
    photos = [p for p in sorted(data.glob("*.png")) if max(Image.open(p).size) > 800]
    auto, pm = load_engine("auto", "cpu"), load_engine("patchmatch")
    outline = make_mask_generator("object")
    scores: dict[tuple[str, str], list[tuple[float, float]]] = {}
    apart: dict[str, list[float]] = {}
    for k, path in enumerate(photos):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        h, w = rgb.shape[:2]
        rng = np.random.default_rng([77, k])
        spots = np.zeros((h, w), bool)
        side = min(h, w) // 10
        for _ in range(6):
            cy, cx = int(rng.integers(side, h - side)), int(rng.integers(side, w - side))
            spots[cy - side // 2 : cy + side // 2, cx - side // 2 - side // 4 : cx + side // 2 + side // 4] = True
        masks = {"object outlines 5-15 %": outline(np.random.default_rng([78, k]), (h, w), ratio=(0.05, 0.15)),
                 "six spots": spots}
        for kind, mask in masks.items():
            fills = {}
            for name, engine, side_ in (("auto, network crops full size", auto, FULL_SIZE),
                                        ("auto, network crops at the work scale", auto, _MIN_CROP_SIDE),
                                        ("patchmatch", pm, _MIN_CROP_SIDE)):
                _set(crops_at_once=True, crop_side=side_, grouped_join=True)
                fills[name] = engine.fill(rgb, mask).image
                scores.setdefault((kind, name), []).append((_box_vgg(vgg, fills[name], rgb, mask),
                                                             psnr(fills[name], rgb, mask)))
            a, b = (fills[n].astype(int) for n in ("auto, network crops full size",
                                                   "auto, network crops at the work scale"))
            apart.setdefault(kind, []).append(float(np.abs(a - b)[mask].mean()))
        print(f"{k + 1}/{len(photos)} {path.name}", file=sys.stderr)
    print(f"{len(photos)} photos\n| holes | fill | ST-LPIPS-vgg | PSNR in the hole |\n|---|---|---:|---:|")
    for (kind, name), rows in scores.items():
        print(f"| {kind} | {name} | {np.mean([r[0] for r in rows]):.4f} | {np.mean([r[1] for r in rows]):.2f} |")
    for kind, d in apart.items():
        print(f"{kind}: the two auto fills lie {np.mean(d):.2f} grey levels apart in the hole (mean)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("timing", "quality"))
    parser.add_argument("--data", type=Path, default=Path("data/photos/holdout"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.what == "timing":
        timing(args.rounds)
    else:
        quality(args.data)


if __name__ == "__main__":
    main()
