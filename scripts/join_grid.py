"""Draw what the texture join does on held-out holes: one row per hole, columns = the photo
with its hole, PatchMatch alone, one column per join in ``--joins``, the truth.

A join is a name of ``texture.JOINS``, optionally with ``:none`` (the gentle join without
its GENTLE_LIMIT) or ``:N`` (a limit of N grey levels); a plain name is joined as it was
when it shipped ("stroke" and "shape" had no limit, "gentle" has the installed one).

    # docs/results/join_shape.jpg: the join that treats every region as a stroke, and the
    # shape-reading join of session 8
    python scripts/join_grid.py --data data/photos/holdout --out docs/results/join_shape.jpg
    # docs/results/join_limit.jpg: the gentle join without and with its limit (session 15)
    python scripts/join_grid.py --data data/photos/holdout --out docs/results/join_limit.jpg \\
        --joins gentle:none,gentle
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


def parse_join(spec: str) -> tuple[str, float | None]:
    """``"gentle:none"`` -> ("gentle", None); ``"gentle:24"`` -> ("gentle", 24.0); a plain
    name -> its join as shipped (a limit only for "gentle")."""
    name, _, limit = spec.partition(":")
    if name not in texture.JOINS:
        raise SystemExit(f"--joins: {name!r} is not one of {', '.join(texture.JOINS)}")
    if not limit:
        return name, texture.GENTLE_LIMIT if name == "gentle" else None
    return name, None if limit == "none" else float(limit)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--masks", default="object", help="evaluate --masks's kinds")
    p.add_argument("--buckets", default="40-50,50-60")
    p.add_argument("--rows", type=int, default=6)
    p.add_argument("--seed", type=int, default=2023)
    p.add_argument("--joins", default="stroke,shape", help="the joins' columns, e.g. gentle:none,gentle")
    args = p.parse_args(argv)
    joins = [parse_join(s) for s in args.joins.split(",")]
    images = ev.load_eval_images(args.data, 256)
    buckets = set(args.buckets.split(","))
    cases = [c for c in ev.build_cases(images, 1, seed=args.seed, masks=args.masks) if c.bucket in buckets]
    net = load_engine("mtsa", "cpu")
    rows = []
    for c in cases[: args.rows]:
        rgb, mask = images[c.image].rgb, c.mask.astype(bool)
        base, copied = net.fill(rgb, mask).image, patchmatch_fill(rgb, mask, seed=0)
        joined = [texture.combine(rgb, mask, base, copied, "blend", join=j, limit=lim) for j, lim in joins]
        holed = rgb.copy()
        holed[mask] = 255
        rows.append(np.concatenate([holed, copied, *joined, rgb], 1))
    grid = cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR)
    grid = cv2.resize(grid, (grid.shape[1] * 3 // 4, grid.shape[0] * 3 // 4), interpolation=cv2.INTER_AREA)
    cv2.imwrite(args.out, grid, [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {args.out}: {len(rows)} holes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
