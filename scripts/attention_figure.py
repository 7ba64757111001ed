"""Where each network's MTSA layer borrows from, for a few points across one hole.

    python scripts/attention_figure.py --data data/photos/holdout \\
        --checkpoint model_weights/mtsa-guided.pt runs/guided-copy/mtsa-guided.pt --out docs/results/attention.jpg

One row per checkpoint: the held-out photo with its hole (and, for a guided network, the
sketch), the network's fill, then one panel per query point: the attention of the hole
token under the point (mean over heads; bright = borrowed from), drawn on the photo, the
point marked in cyan. The hole and sketch are the evaluation's own (``evaluate``'s seeded
masks and sketches: ``--masks``, ``--sketches``, ``--bucket``), so a row shows what the
``attn_distinct`` column of ``evaluate`` measures: a collapsed attention sends every point
to the same few sources, one that discriminates sends different parts of the hole to
different places. The points are spread over the hole's deep pixels (farthest-point
sampling), the same for every row.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
import torch
from removal_examples import marked, tile  # scripts/ is on the path when a script runs

from app.core.imageio import save_image
from app.core.maskops import depth_in_hole
from app.core.names import MASK_KINDS, SKETCH_SOURCES
from app.evaluation.evaluate import build_cases, load_eval_images
from app.inference.checkpoint import read_info
from app.inference.engines import NetworkEngine


def spread_points(mask: np.ndarray, n: int, deep: float = 0.4) -> list[tuple[int, int]]:
    """``n`` hole pixels (x, y) far from each other, among those at least ``deep`` of the
    hole's greatest depth from its edge: the deepest first, then each the farthest from
    those chosen."""
    depth = depth_in_hole(mask)
    ys, xs = np.nonzero(depth >= deep * float(depth.max()))
    pts = np.stack([xs, ys], 1).astype(np.float64)
    first = int(np.argmax(depth[ys, xs]))
    chosen = [first]
    dist = np.linalg.norm(pts - pts[first], axis=1)
    while len(chosen) < min(n, len(pts)):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(pts - pts[nxt], axis=1))
    return [(int(pts[i, 0]), int(pts[i, 1])) for i in chosen]


def heat_on(rgb: np.ndarray, mask: np.ndarray, attention: np.ndarray, point: tuple[int, int]) -> np.ndarray:
    """The attention as a heat map over a darkened photo, the hole outlined, the point marked."""
    heat = attention / max(float(attention.max()), 1e-12)
    colour = cv2.applyColorMap((np.sqrt(heat) * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)[..., ::-1]
    alpha = np.clip(np.sqrt(heat) * 1.5, 0, 1)[..., None]
    out = (rgb * 0.35 * (1 - alpha) + colour * alpha).astype(np.uint8)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    out = np.ascontiguousarray(out)
    cv2.drawContours(out, contours, -1, (255, 255, 255), 1)
    cv2.circle(out, point, 4, (0, 255, 255), -1)
    cv2.circle(out, point, 5, (0, 0, 0), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="data/photos/holdout", help="folder of held-out photos")
    p.add_argument("--checkpoint", nargs="+", type=Path, default=[Path("model_weights/mtsa-guided.pt")])
    p.add_argument("--labels", default=None, help="comma-separated row labels (default: the checkpoints' folders)")
    p.add_argument("--photo", type=int, default=3, help="index of the held-out photo (sorted by name)")
    p.add_argument("--bucket", default="30-40", help="hole-size bucket of the evaluation's masks")
    p.add_argument("--masks", default="free_form", choices=MASK_KINDS)
    p.add_argument("--sketches", default="project", choices=SKETCH_SOURCES)
    p.add_argument("--points", type=int, default=4)
    p.add_argument("--out", default="docs/results/attention.jpg")
    args = p.parse_args(argv)
    labels = args.labels.split(",") if args.labels else [c.parent.name for c in args.checkpoint]
    if len(labels) != len(args.checkpoint):
        raise SystemExit(f"error: {len(labels)} labels for {len(args.checkpoint)} checkpoints")
    images = load_eval_images(args.data)
    guided = [bool(read_info(c)["config"].get("guided")) for c in args.checkpoint]
    cases = build_cases(images, guided=any(guided), sketches=args.sketches, masks=args.masks)
    case = next((c for c in cases if c.image == args.photo and c.bucket == args.bucket), None)
    if case is None:
        raise SystemExit(f"error: no case for photo {args.photo} in bucket {args.bucket}")
    rgb, mask = images[case.image].rgb, case.mask
    points = spread_points(mask, args.points)
    rows = []
    for path, label, is_guided in zip(args.checkpoint, labels, guided, strict=True):
        sketch = case.sketch if is_guided else None
        engine = NetworkEngine.from_checkpoint("mtsa-guided" if is_guided else "mtsa", path, torch.device("cpu"))
        fill = engine.fill(rgb, mask, sketch).image
        explained = [engine.explain(rgb, mask, sketch, point) for point in points]
        distinct = explained[0]["attn_distinct"]  # a property of the hole, the same at every point
        tiles = [tile(marked(rgb, mask, sketch), f"{label}: hole {100 * mask.mean():.0f} %"),
                 tile(fill, f"fill; {distinct:.3f} sources/token")]
        tiles += [tile(heat_on(rgb, mask, e["attention"], point), f"point {k}: {e['attn_keys']:.0f} keys")
                  for k, (point, e) in enumerate(zip(points, explained, strict=True), 1)]
        rows.append(np.concatenate(tiles, axis=1))
        print(f"{label}: distinct sources per hole token {distinct:.3f}", file=sys.stderr)
    grid = np.concatenate([np.pad(r, ((0, 4), (0, 0), (0, 0))) for r in rows], axis=0)
    print(f"wrote {save_image(args.out, grid)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
