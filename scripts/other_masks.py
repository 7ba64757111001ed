"""Write holes drawn by methods the app never trains or tunes on, for ``evaluate --mask-dir``.

    python scripts/other_masks.py --data data/photos/holdout --out runs/masks-lasso --kind lasso
    python main.py evaluate --data data/photos/holdout --mask-dir runs/masks-lasso --engines auto,patchmatch

The networks train on free-form strokes and boxes, and the texture stage and ``auto`` were
tuned on those and on object outlines (app/data/masks.py). These two kinds come from other
generators, as a check that the fills generalise:

- ``lasso``: one to three lasso selections, each a closed polygon of 6-16 points at random
  angles and radii around a centre (sharp corners, straight edges: how a user encircles an
  object with a lasso tool), scaled until they cover the drawn share of the crop.
- ``noise``: smoothed white noise above a threshold (several organic blobs of one random
  scale; the threshold is the quantile that gives the drawn share exactly).

Each photo gets ``--per-bucket`` holes per bucket of 10-20 ... 50-60 %, drawn in the square
that ``evaluate`` crops (the centre square of the photo, resized) and stored at the photo's
size as ``OUT/NAME/<bucket>-<i>.png`` (white = hole). Every photo has its own seeded random
stream (from its name and ``--seed``), so the masks are the same on every run and machine.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
from PIL import Image

from app.core.atomic import atomic_write
from app.core.names import BUCKETS, REFERENCE_SIDE, bucket_name
from app.evaluation.evaluate import load_eval_images

KINDS = ("lasso", "noise")


def _polygon(rng: np.random.Generator, side: int, scale: float, centre: np.ndarray) -> np.ndarray:
    n = int(rng.integers(6, 17))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = rng.uniform(0.45, 1.0, n) * scale * side
    pts = centre + np.stack([np.cos(angles) * radii, np.sin(angles) * radii], 1)
    return np.round(pts).astype(np.int32)


def lasso_mask(rng: np.random.Generator, side: int, ratio: float) -> np.ndarray:
    """One to three lasso polygons covering ``ratio`` of a ``side`` square (to ~1 %)."""
    count = int(rng.integers(1, 4))
    centres = rng.uniform(0.2, 0.8, (count, 2)) * side
    shapes = [(rng.integers(0, 2**31), c) for c in centres]

    def draw(scale: float) -> np.ndarray:
        m = np.zeros((side, side), np.uint8)
        for s, c in shapes:
            cv2.fillPoly(m, [_polygon(np.random.default_rng(int(s)), side, scale, c)], 1)
        return m.astype(bool)

    lo, hi = 0.01, 1.5  # bisect the polygons' size for the share
    for _ in range(30):
        mid = (lo + hi) / 2
        if draw(mid).mean() < ratio:
            lo = mid
        else:
            hi = mid
    return draw(hi)


def noise_mask(rng: np.random.Generator, side: int, ratio: float) -> np.ndarray:
    """Smoothed noise above the quantile that leaves exactly ``ratio`` of the square a hole."""
    sigma = rng.uniform(0.04, 0.12) * side
    field = cv2.GaussianBlur(rng.standard_normal((side, side)).astype(np.float32), (0, 0), sigma)
    return field > np.quantile(field, 1.0 - ratio)


GENERATORS = {"lasso": lasso_mask, "noise": noise_mask}


def write_masks(data: Path, out: Path, kind: str, per_bucket: int, seed: int) -> int:
    written = 0
    # the photos and their upright sizes exactly as ``evaluate --data`` reads them
    for photo in load_eval_images(data, REFERENCE_SIDE):
        w, h = photo.size
        s = min(w, h)
        x0, y0 = (w - s) // 2, (h - s) // 2
        rng = np.random.default_rng([seed, zlib.crc32(photo.name.encode()), KINDS.index(kind)])
        folder = out / photo.name
        folder.mkdir(parents=True, exist_ok=True)
        for lo, hi in BUCKETS:
            for i in range(per_bucket):
                ratio = float(rng.uniform(lo + 0.01, hi - 0.01))
                small = GENERATORS[kind](rng, REFERENCE_SIDE, ratio).astype(np.uint8) * 255
                full = np.zeros((h, w), np.uint8)
                full[y0 : y0 + s, x0 : x0 + s] = cv2.resize(small, (s, s), interpolation=cv2.INTER_NEAREST)
                target = folder / f"{bucket_name((lo, hi))}-{i}.png"
                atomic_write(target, lambda fh, a=full: Image.fromarray(a).save(fh, format="PNG"))
                written += 1
    return written


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="folder of photos (the evaluation's --data)")
    p.add_argument("--out", type=Path, required=True, help="mask folder to write (evaluate --mask-dir)")
    p.add_argument("--kind", choices=KINDS, default="lasso")
    p.add_argument("--per-bucket", type=int, default=2, help="holes per photo and bucket (default 2)")
    p.add_argument("--seed", type=int, default=31)
    args = p.parse_args()
    n = write_masks(args.data, args.out, args.kind, args.per_bucket, args.seed)
    print(f"{n} {args.kind} masks -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
