"""Rasterise brush strokes, rectangles and lassos into boolean patches.

Every function returns a ``Patch``: a box in image pixels and a boolean array covering only
that box, so a stroke on a 24 MP photo touches kilobytes, not the whole layer. Lines are
drawn with OpenCV's 8-connected (non anti-aliased) rasteriser so that sketch strokes are
binary, exactly like the training sketches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # (x0, y0, x1, y1), end exclusive, image pixels
Point = tuple[float, float]  # (x, y) image pixels


@dataclass(frozen=True)
class Patch:
    box: Box
    area: np.ndarray  # bool (y1 - y0, x1 - x0)

    def is_empty(self) -> bool:
        return not bool(self.area.any())


def clip_box(box: Box, size_wh: tuple[int, int]) -> Box | None:
    """Clip ``box`` to the image; None when nothing is left."""
    w, h = size_wh
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    if x0 >= x1 or y0 >= y1:
        return None
    return (x0, y0, x1, y1)


def union_box(a: Box | None, b: Box | None) -> Box | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _bounds(points: Sequence[Point], pad: int, size_wh: tuple[int, int]) -> Box | None:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    box = (
        int(np.floor(min(xs))) - pad,
        int(np.floor(min(ys))) - pad,
        int(np.ceil(max(xs))) + pad + 1,
        int(np.ceil(max(ys))) + pad + 1,
    )
    return clip_box(box, size_wh)


def _local(points: Sequence[Point], box: Box) -> np.ndarray:
    # Rounded to whole pixels: sub-pixel (shift) drawing would change the rasterisation
    # from the one the sketch generator uses.
    pts = np.round(np.asarray(points, dtype=np.float64)).astype(np.int32)
    pts[:, 0] -= box[0]
    pts[:, 1] -= box[1]
    return pts


def stroke(points: Sequence[Point], width: int, size_wh: tuple[int, int]) -> Patch | None:
    """A polyline of ``width`` pixels with round caps; a single point gives a dot."""
    if not points:
        return None
    width = max(1, int(width))
    box = _bounds(points, width // 2 + 2, size_wh)
    if box is None:
        return None
    canvas = np.zeros((box[3] - box[1], box[2] - box[0]), np.uint8)
    pts = _local(points, box)
    if len(pts) == 1:
        pts = np.vstack([pts, pts])
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        cv2.line(canvas, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 255, width, cv2.LINE_8)
    return Patch(box, canvas > 0)


def rectangle(p0: Point, p1: Point, size_wh: tuple[int, int]) -> Patch | None:
    """Axis-aligned rectangle spanning two corners, both included."""
    x0, x1 = sorted((int(round(p0[0])), int(round(p1[0]))))
    y0, y1 = sorted((int(round(p0[1])), int(round(p1[1]))))
    box = clip_box((x0, y0, x1 + 1, y1 + 1), size_wh)
    if box is None:
        return None
    return Patch(box, np.ones((box[3] - box[1], box[2] - box[0]), bool))


def polygon(points: Sequence[Point], size_wh: tuple[int, int]) -> Patch | None:
    """Filled lasso polygon (closed automatically); fewer than 3 points gives nothing."""
    if len(points) < 3:
        return None
    box = _bounds(points, 1, size_wh)
    if box is None:
        return None
    canvas = np.zeros((box[3] - box[1], box[2] - box[0]), np.uint8)
    cv2.fillPoly(canvas, [_local(points, box)], 255, cv2.LINE_8)
    return Patch(box, canvas > 0)


def apply_patch(array: np.ndarray, patch: Patch, value: bool | int) -> bool:
    """Set the patch's pixels of ``array`` to ``value``; True when anything changed."""
    x0, y0, x1, y1 = patch.box
    region = array[y0:y1, x0:x1]
    before = region[patch.area]
    if bool(np.all(before == value)):
        return False
    region[patch.area] = value
    return True
