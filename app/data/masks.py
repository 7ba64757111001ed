"""Hole masks for training and evaluation (numpy + OpenCV only, no torch).

Free-form masks follow DeepFill v2 (Yu et al. 2019, ``inpaint_ops.py``): random-walk
polylines drawn with a thick round brush, plus random boxes, added until the hole covers
a target share of the image. Evaluation can also draw holes another way: brush strokes
only, boxes only (LaMa's), or smooth object outlines (what removing an object leaves).
Every generator takes an injected ``np.random.Generator`` so
the dataset controls reproducibility (per index and epoch). Masks are bool (H, W), True =
hole, as everywhere in the app.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import cv2
import numpy as np

from app.core.names import BUCKETS, bucket_name

MaskGenerator = Callable[[np.random.Generator, tuple[int, int]], np.ndarray]

MAX_TRIES = 60  # shapes tried before the exact trim/extend fallback takes over
OVERSHOOT = 0.05  # share of the image a final shape may add beyond the drawn target


def hole_ratio(mask: np.ndarray) -> float:
    return float(np.count_nonzero(mask)) / mask.size


# ----------------------------------------------------------------------------- shapes
def _stroke(rng: np.random.Generator, size_hw: tuple[int, int], scale: float = 1.0) -> np.ndarray:
    """One DeepFill-v2 brush stroke: a zig-zag random walk with round joints."""
    h, w = size_hw
    canvas = np.zeros((h, w), np.uint8)
    short = min(h, w)
    # DeepFill v2 uses widths 12..40 px at 256 px; keep those proportions at any size
    width = max(1, int(rng.uniform(0.047, 0.156) * short * scale))
    n_vertex = int(rng.integers(4, 13))
    mean_angle = 2 * math.pi / 5
    angle_range = 2 * math.pi / 15
    avg_radius = math.hypot(h, w) / 8 * scale
    x, y = float(rng.integers(0, w)), float(rng.integers(0, h))
    pts = [(x, y)]
    for i in range(n_vertex):
        angle = rng.uniform(mean_angle - angle_range, mean_angle + angle_range)
        if i % 2 == 0:  # alternate direction so the walk zig-zags instead of circling
            angle = 2 * math.pi - angle
        r = float(np.clip(rng.normal(avg_radius, avg_radius / 2), 0, 2 * avg_radius))
        x = float(np.clip(x + r * math.cos(angle), 0, w - 1))
        y = float(np.clip(y + r * math.sin(angle), 0, h - 1))
        pts.append((x, y))
    ipts = [(int(round(px)), int(round(py))) for px, py in pts]
    for a, b in zip(ipts[:-1], ipts[1:], strict=True):
        cv2.line(canvas, a, b, 1, width, lineType=cv2.LINE_8)
    for p in ipts:
        cv2.circle(canvas, p, width // 2, 1, -1)
    return canvas.astype(bool)


def _box(rng: np.random.Generator, size_hw: tuple[int, int], scale: float = 1.0) -> np.ndarray:
    """One axis-aligned rectangle of 10-50 % of each side (LaMa's "box" masks)."""
    h, w = size_hw
    bh = max(1, int(rng.uniform(0.1, 0.5) * h * scale))
    bw = max(1, int(rng.uniform(0.1, 0.5) * w * scale))
    y0 = int(rng.integers(0, h - bh + 1))
    x0 = int(rng.integers(0, w - bw + 1))
    out = np.zeros((h, w), bool)
    out[y0 : y0 + bh, x0 : x0 + bw] = True
    return out


def _blob(rng: np.random.Generator, size_hw: tuple[int, int], scale: float = 1.0) -> np.ndarray:
    """One object-shaped hole: a smooth closed outline (a circle whose radius wobbles with
    a few random low harmonics), 20-60 % of the short side across, as a user's lasso or a
    segmentation mask around a removed object would be; no straight edges, no thin parts."""
    h, w = size_hw
    short = min(h, w)
    radius = rng.uniform(0.1, 0.3) * short * scale
    aspect = rng.uniform(0.6, 1.6)
    t = np.linspace(0.0, 2 * math.pi, 96, endpoint=False)
    wobble = np.ones_like(t)
    for k in (2, 3, 4, 5):
        wobble += rng.uniform(0.0, 0.25 / (k - 1)) * np.cos(k * t + rng.uniform(0, 2 * math.pi))
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    rot = rng.uniform(0, math.pi)
    x, y = radius * wobble * np.cos(t) * aspect ** 0.5, radius * wobble * np.sin(t) / aspect ** 0.5
    px = cx + x * math.cos(rot) - y * math.sin(rot)
    py = cy + x * math.sin(rot) + y * math.cos(rot)
    canvas = np.zeros((h, w), np.uint8)
    cv2.fillPoly(canvas, [np.stack([px, py], -1).round().astype(np.int32)], 1, lineType=cv2.LINE_8)
    return canvas.astype(bool)


def fit_exact(mask: np.ndarray, n_target: int) -> np.ndarray:
    """Grow or shrink ``mask`` to exactly ``n_target`` hole pixels, keeping its shape.

    Shrinking keeps the pixels deepest inside the hole (largest distance to the
    background); growing adds the background pixels nearest to the hole. Ties break by
    raster order, so the result is deterministic.
    """
    n = int(np.count_nonzero(mask))
    if n == n_target:
        return mask
    flat = mask.ravel().copy()
    if n > n_target:
        depth = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3).ravel()
        idx = np.flatnonzero(flat)
        order = idx[np.argsort(-depth[idx], kind="stable")]
        flat[order[n_target:]] = False
    else:
        if n == 0:  # nothing to grow from: start at the centre
            h, w = mask.shape
            seed = np.zeros_like(mask)
            seed[h // 2, w // 2] = True
            return fit_exact(seed, n_target)
        dist = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3).ravel()
        idx = np.flatnonzero(~flat)
        order = idx[np.argsort(dist[idx], kind="stable")]
        flat[order[: n_target - n]] = True
    return flat.reshape(mask.shape)


def _compose(
    rng: np.random.Generator,
    size_hw: tuple[int, int],
    ratio: tuple[float, float],
    shapes: tuple[Callable[..., np.ndarray], ...],
    weights: tuple[float, ...],
) -> np.ndarray:
    h, w = int(size_hw[0]), int(size_hw[1])
    if h < 1 or w < 1:
        raise ValueError(f"mask size must be positive, got {size_hw}")
    lo, hi = float(ratio[0]), float(ratio[1])
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"ratio must satisfy 0 <= lo <= hi <= 1, got {ratio}")
    total = h * w
    n_lo, n_hi = math.ceil(lo * total), math.floor(hi * total)
    if n_lo > n_hi:
        raise ValueError(f"no pixel count of a {w}x{h} mask lies in {ratio}")
    target = rng.uniform(lo, hi)
    mask = np.zeros((h, w), bool)
    p = np.asarray(weights, float) / sum(weights)
    scale = 1.0
    # a shape may overshoot the target a little, not up to `hi`: otherwise the last
    # (wide) stroke drags the ratio distribution towards the top of the range
    n_cap = min(n_hi, int((target + OVERSHOOT) * total))
    for _ in range(MAX_TRIES):
        if np.count_nonzero(mask) >= target * total:
            break
        shape = shapes[int(rng.choice(len(shapes), p=p))]
        cand = mask | shape(rng, (h, w), scale)
        if np.count_nonzero(cand) > n_cap:
            scale *= 0.7  # overshoot: retry with a smaller brush / box
            continue
        mask = cand
    n = int(np.count_nonzero(mask))
    if n < n_lo or n > n_hi:
        mask = fit_exact(mask, int(np.clip(round(target * total), n_lo, n_hi)))
    return mask


# ----------------------------------------------------------------------------- public
def free_form_mask(
    rng: np.random.Generator, size_hw: tuple[int, int], ratio: tuple[float, float] = (0.1, 0.6)
) -> np.ndarray:
    """Brush strokes (75 %) and boxes (25 %) until the hole ratio lies inside ``ratio``."""
    return _compose(rng, size_hw, ratio, (_stroke, _box), (0.75, 0.25))


def stroke_mask(
    rng: np.random.Generator, size_hw: tuple[int, int], ratio: tuple[float, float] = (0.1, 0.6)
) -> np.ndarray:
    """Brush strokes only (what a user paints with the mask brush)."""
    return _compose(rng, size_hw, ratio, (_stroke,), (1.0,))


def box_mask(
    rng: np.random.Generator, size_hw: tuple[int, int], ratio: tuple[float, float] = (0.1, 0.6)
) -> np.ndarray:
    """Rectangles only (object-removal style holes)."""
    return _compose(rng, size_hw, ratio, (_box,), (1.0,))


def object_mask(
    rng: np.random.Generator, size_hw: tuple[int, int], ratio: tuple[float, float] = (0.1, 0.6)
) -> np.ndarray:
    """Smooth object outlines only (object removal with a lasso or a segmentation mask)."""
    return _compose(rng, size_hw, ratio, (_blob,), (1.0,))


_GENERATORS: dict[str, Callable[..., np.ndarray]] = {
    "free_form": free_form_mask,
    "strokes": stroke_mask,
    "box": box_mask,
    "object": object_mask,
}


def make_mask_generator(name: str = "free_form", **kw: object) -> MaskGenerator:
    """Look a generator up by name; ``kw`` (e.g. ``ratio=(0.2, 0.4)``) is bound to it."""
    try:
        fn = _GENERATORS[name]
    except KeyError:
        raise ValueError(f"unknown mask generator {name!r}; choose from {', '.join(sorted(_GENERATORS))}") from None
    unknown = set(kw) - {"ratio"}
    if unknown:
        raise ValueError(f"unknown option(s) for mask generator {name!r}: {', '.join(sorted(unknown))}")
    return functools.partial(fn, **kw)


def evaluation_masks(
    size_hw: tuple[int, int], per_bucket: int, seed: int = 2023, kind: str = "free_form"
) -> dict[str, list[np.ndarray]]:
    """Fixed masks of one ``kind`` (free-form by default) per hole-ratio bucket:
    ``{"10-20": [mask, ...], ...}``.

    Each mask has its own RNG stream ``(seed, bucket, index)``, so asking for more masks
    per bucket keeps the first ones unchanged and every engine sees the same holes.
    """
    if per_bucket < 0:
        raise ValueError("per_bucket must be >= 0")
    generator = make_mask_generator(kind)
    out: dict[str, list[np.ndarray]] = {}
    for b, bucket in enumerate(BUCKETS):
        out[bucket_name(bucket)] = [
            generator(np.random.default_rng([seed, b, i]), size_hw, ratio=bucket) for i in range(per_bucket)
        ]
    return out
