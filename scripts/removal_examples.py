"""Object removals as a user does them, side by side: a spoon, a person, a logo, a sign.

    python scripts/removal_examples.py --data data/photos --out docs/results/removals.jpg

Each hole is an outline drawn by hand around the object (below, in the photo's own
pixels) and widened by a few pixels, as a user's brush covers an object's edge; one row
repeats the spoon with a sketch stroke drawn along the cup's edge, as a user steers the
fill. Every
engine fills the same hole of the full-size photo; the grid shows the neighbourhood of
the hole: the photo with the hole marked, then one column per engine. The photos come from
the project's photo list (``fetch-data``); they are training photos, so this is a look at
what a user sees, not a measurement (that is ``evaluate`` on held-out photos).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from app.core.imageio import load_image, save_image
from app.core.names import stroke_width_for
from app.inference.engines import load_engine

# photo file (under --data, any subfolder), what is removed, its outline (x, y), brush margin px,
# sketch strokes (polylines (x, y) at the editor's pen width) or ()
SPOON = [(400, 64), (426, 68), (420, 112), (402, 190), (394, 232), (408, 258), (410, 300), (396, 324),
         (360, 330), (330, 318), (322, 286), (333, 254), (360, 236), (376, 218), (386, 160), (398, 100)]
CUP_EDGE = [(409, 95), (408, 130), (404, 165), (396, 198), (382, 222), (365, 240)]
EXAMPLES = (
    ("scikit-image__coffee.png", "spoon", SPOON, 6, ()),
    ("scikit-image__coffee.png", "spoon + stroke", SPOON, 6, (CUP_EDGE,)),
    ("ultralytics__bus.png", "person",
     [(250, 405), (315, 410), (322, 455), (345, 505), (343, 590), (338, 690), (346, 795), (338, 862),
      (252, 862), (243, 795), (236, 710), (222, 640), (226, 540), (238, 470), (255, 442)], 14, ()),
    ("ultralytics__bus.png", "logo",
     [(580, 390), (765, 390), (765, 495), (580, 495)], 6, ()),
    ("opencv-doc__text_scenetext06.png", "hanging sign",
     [(282, 146), (342, 146), (342, 218), (282, 218)], 4, ()),
)
ENGINES = ("patchmatch", "auto", "mtsa")
ROW_HEIGHT = 260


def find(data: Path, name: str) -> Path:
    hits = sorted(data.rglob(name))
    if not hits:
        raise SystemExit(f"error: {name} is not under {data} (python main.py fetch-data --out {data})")
    return hits[0]


def hole(shape: tuple[int, int], outline, margin: int) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.array(outline, np.int32)], 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    return cv2.dilate(mask, disc).astype(bool)


def sketch_of(shape: tuple[int, int], strokes) -> np.ndarray | None:
    if not strokes:
        return None
    sketch = np.zeros(shape, np.uint8)
    for line in strokes:
        cv2.polylines(sketch, [np.array(line, np.int32)], False, 255, stroke_width_for(shape))
    return sketch


def view(rgb: np.ndarray, mask: np.ndarray) -> tuple[slice, slice]:
    """The hole's neighbourhood: its box and as much again around it."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    cy, cx = (ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2
    half = int(max(ys.max() - ys.min(), xs.max() - xs.min()))
    return slice(max(0, cy - half), min(h, cy + half)), slice(max(0, cx - half), min(w, cx + half))


def marked(rgb: np.ndarray, mask: np.ndarray, sketch: np.ndarray | None = None) -> np.ndarray:
    out = rgb.copy()
    out[mask] = (0.5 * out[mask] + 0.5 * np.array([255, 0, 255])).astype(np.uint8)
    if sketch is not None:
        out[sketch > 127] = (0, 255, 0)
    return out


def tile(img: np.ndarray, label: str) -> np.ndarray:
    h, w = img.shape[:2]
    img = cv2.resize(img, (max(1, round(w * ROW_HEIGHT / h)), ROW_HEIGHT), interpolation=cv2.INTER_AREA)
    img = np.ascontiguousarray(img)
    cv2.rectangle(img, (0, 0), (img.shape[1], 22), (0, 0, 0), -1)
    cv2.putText(img, label, (5, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="data/photos", help="folder holding the project's photos")
    p.add_argument("--out", default="docs/results/removals.jpg")
    p.add_argument("--engines", default=",".join(ENGINES))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    engines = [load_engine(n, "cpu") for n in args.engines.split(",")]
    rows = []
    for name, what, outline, margin, strokes in EXAMPLES:
        rgb = load_image(find(Path(args.data), name)).rgb
        mask = hole(rgb.shape[:2], outline, margin)
        sketch = sketch_of(mask.shape, strokes)
        ys, xs = view(rgb, mask)
        tiles = [tile(marked(rgb, mask, sketch)[ys, xs], f"{what}, {100 * mask.mean():.1f} %")]
        for engine in engines:
            t0 = time.perf_counter()
            result = engine.fill(rgb, mask, sketch, seed=args.seed)
            took = time.perf_counter() - t0
            label = engine.name + (f" -> {result.engine}" if result.engine != engine.name else "")
            tiles.append(tile(result.image[ys, xs], f"{label}, {took:.1f} s"))
            print(f"{what:<14} {engine.name:<13} -> {result.engine:<13} {took:6.2f} s", file=sys.stderr)
        rows.append(np.concatenate(tiles, axis=1))
    width = max(r.shape[1] for r in rows)
    grid = np.concatenate([np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0))) for r in rows], axis=0)
    print(f"wrote {save_image(args.out, grid)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
