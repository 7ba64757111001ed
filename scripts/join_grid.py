"""Draw what the texture join does on held-out holes: one row per hole, columns = the photo
with its hole, PatchMatch alone, the join without reading the hole's shape (every region
treated as a stroke, ``join="stroke"``), the shape-reading join of session 8
(``join="shape"``), the truth. (The figure in docs/results/join_shape.jpg; the join shipped
since 3 Dec 2026, ``"gentle"``, treats every region as that one treats compact blobs.)

    python scripts/join_grid.py --data data/photos/holdout --out docs/results/join_shape.jpg
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from app.evaluation import evaluate as ev
from app.inference import texture
from app.inference.engines import load_engine
from app.inference.patchmatch import patchmatch_fill


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--masks", default="object", help="evaluate --masks's kinds")
    p.add_argument("--buckets", default="40-50,50-60")
    p.add_argument("--rows", type=int, default=6)
    p.add_argument("--seed", type=int, default=2023)
    args = p.parse_args(argv)
    images = ev.load_eval_images(args.data, 256)
    buckets = set(args.buckets.split(","))
    cases = [c for c in ev.build_cases(images, 1, seed=args.seed, masks=args.masks) if c.bucket in buckets]
    net = load_engine("mtsa", "cpu")
    rows = []
    for c in cases[: args.rows]:
        rgb, mask = images[c.image].rgb, c.mask.astype(bool)
        base, copied = net.fill(rgb, mask).image, patchmatch_fill(rgb, mask, seed=0)
        shipped = texture.combine(rgb, mask, base, copied, "blend", join="shape")
        strokes_only = texture.combine(rgb, mask, base, copied, "blend", join="stroke")
        holed = rgb.copy()
        holed[mask] = 255
        rows.append(np.concatenate([holed, copied, strokes_only, shipped, rgb], 1))
    grid = cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR)
    grid = cv2.resize(grid, (grid.shape[1] * 3 // 4, grid.shape[0] * 3 // 4), interpolation=cv2.INTER_AREA)
    cv2.imwrite(args.out, grid, [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {args.out}: {len(rows)} holes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
