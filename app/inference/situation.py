"""What ``auto`` looks at to pick an engine: hole size, how textured the surround is,
whether strokes steer the fill, and whether the hole is a thin scratch.

The same function labels the evaluation's cases (``scripts/auto_routes.py``) and the user's
holes, so a route recorded from measurements applies to exactly the holes it was
measured on. Pure numpy + OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from app.core.maskops import as_bool, as_uint8, depth_in_hole
from app.core.names import REFERENCE_SIDE, bucket_of

RING_PX = 16  # width of the band around the hole whose texture is measured
# Mean absolute Laplacian (grey levels) of the band above which the surround counts as
# textured, when the routes file records none (scripts/auto_routes.py records the median
# over the held-out holes it measured)
TEXTURE_THRESHOLD = 67.0
THIN_PX = 4.0  # a hole no wider than 2 x this everywhere is a scratch


@dataclass(frozen=True)
class Situation:
    bucket: str  # hole share of the image, e.g. "20-30"
    textured: bool
    strokes: bool
    thin: bool

    @property
    def key(self) -> str:
        """The routing table's key, e.g. ``"20-30/textured/sketch"``."""
        return f"{self.bucket}/{'textured' if self.textured else 'smooth'}/{'sketch' if self.strokes else 'plain'}"


def ring_texture(rgb: np.ndarray, mask: np.ndarray, ring: int = RING_PX) -> float:
    """Mean absolute Laplacian of the grey image in a band of ``ring`` px around the hole,
    measured on a copy whose short side is REFERENCE_SIDE (the evaluation's crops, where the
    routes were measured; smaller photos as they are), so a
    24 MP photo and its 256-px crop of the same scene get the same texture class."""
    h, w = mask.shape
    scale = min(1.0, REFERENCE_SIDE / min(h, w))
    m = as_uint8(mask)
    x, y, bw, bh = cv2.boundingRect(m)
    if bw == 0 or bh == 0:
        return 0.0
    # only the holes' box and the band around it matter (a whole 24 MP photo need not be
    # converted): cut it on the measuring scale's pixel grid so the result is the same
    step = max(1, round(1 / scale))
    pad = (ring + 2) * step
    y0, x0 = max(0, y - pad) // step * step, max(0, x - pad) // step * step
    y1, x1 = min(h, y + bh + pad), min(w, x + bw + pad)
    m = m[y0:y1, x0:x1]
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    h, w = m.shape
    if scale < 1:
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        m = (cv2.resize(m, size, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8)
    band = cv2.dilate(m, np.ones((2 * ring + 1, 2 * ring + 1), np.uint8)).astype(bool) & ~m.astype(bool)
    if not band.any():
        return 0.0
    lap = np.abs(cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F, ksize=3))
    return float(lap[band].mean())


def is_thin(mask: np.ndarray, half_width: float = THIN_PX) -> bool:
    """True when no hole pixel lies farther than ``half_width`` from the hole's edge."""
    x, y, w, h = cv2.boundingRect(as_uint8(mask))
    if w == 0 or h == 0:
        return False
    # the holes' box is enough: depths are the same there
    return float(depth_in_hole(mask[y : y + h, x : x + w]).max()) <= half_width


def has_strokes(sketch: np.ndarray | None, mask: np.ndarray) -> bool:
    """Whether ``sketch`` has any stroke inside the hole (the only place strokes count)."""
    return sketch is not None and bool((sketch[as_bool(mask)] > 127).any())


def situation(rgb: np.ndarray, mask: np.ndarray, sketch: np.ndarray | None = None, *,
              texture_threshold: float = TEXTURE_THRESHOLD) -> Situation:
    """The situation of this hole; ``texture_threshold`` is the one recorded with the routes."""
    mask = as_bool(mask)
    return Situation(bucket_of(float(mask.mean())), ring_texture(rgb, mask) > texture_threshold,
                     has_strokes(sketch, mask), is_thin(mask))
