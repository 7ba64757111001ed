"""Display levels: a layer plus cached power-of-two reductions for zoomed-out drawing.

Scaling a 6000 x 4000 photo to the screen on every paint is slow, so below 50 % zoom the
canvas draws from a reduced copy (area-averaged, so a thin mask or sketch stroke fades
instead of vanishing). A stroke only recomputes the reduced pixels under its box.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from app.core.brush import Box, clip_box, union_box

MAX_LEVEL = 6
CHECKER_PX = 8  # image pixels per square of the transparency checkerboard
CHECKER_GREYS = (204, 153)  # light and dark squares, as image editors show transparency


def level_for(scale: float) -> int:
    """Largest k with 2**k <= 1 / scale, so level pixels are drawn at 1x..2x."""
    if scale >= 0.5:
        return 0
    return min(MAX_LEVEL, int(math.floor(math.log2(1.0 / scale))))


def over_checker(rgb: np.ndarray, alpha: np.ndarray, box: Box | None = None) -> np.ndarray:
    """``rgb`` (H, W, 3) composited over a grey checkerboard by ``alpha`` (H, W), in ``box``
    (x0, y0, x1, y1; None = all): what the photo looks like where it is (partly)
    transparent. The squares are fixed to the image, so a repaint of a box matches its
    surroundings."""
    h, w = alpha.shape
    x0, y0, x1, y1 = box if box is not None else (0, 0, w, h)
    yy, xx = np.ogrid[y0:y1, x0:x1]
    light = ((yy // CHECKER_PX + xx // CHECKER_PX) % 2 == 0)
    grey = np.where(light, CHECKER_GREYS[0], CHECKER_GREYS[1]).astype(np.float32)[..., None]
    a = alpha[y0:y1, x0:x1, None].astype(np.float32) / 255.0
    out = rgb[y0:y1, x0:x1].astype(np.float32) * a + grey * (1.0 - a)
    return np.round(out).astype(np.uint8)


class LevelCache:
    """Reduced copies of one layer. ``source`` returns the current full-resolution array
    (as uint8: masks are passed as 0/255 views by the caller)."""

    def __init__(self, source: Callable[[], np.ndarray], gain: int = 1) -> None:
        self._source = source
        self._gain = gain  # 255 for masks, whose uint8 view holds 0/1
        self._levels: dict[int, np.ndarray] = {}
        self._dirty: dict[int, Box | None] = {}

    def invalidate(self, box: Box | None = None) -> None:
        for k in list(self._levels):
            if box is None:
                del self._levels[k]
                self._dirty.pop(k, None)
            else:
                self._dirty[k] = union_box(self._dirty.get(k), box)

    def level(self, k: int) -> np.ndarray:
        """Level k (k >= 1) of the layer, brought up to date."""
        src = self._source()
        if k not in self._levels:
            self._levels[k] = self._reduce(src, k)
            self._dirty.pop(k, None)
        elif self._dirty.get(k) is not None:
            self._update(src, k, self._dirty.pop(k))  # type: ignore[arg-type]
        return self._levels[k]

    def _scaled(self, block: np.ndarray) -> np.ndarray:
        return block if self._gain == 1 else np.multiply(block, self._gain, dtype=np.uint8)

    def _reduce(self, src: np.ndarray, k: int) -> np.ndarray:
        f = 1 << k
        h, w = src.shape[:2]
        size = (max(1, -(-w // f)), max(1, -(-h // f)))
        return np.ascontiguousarray(cv2.resize(self._scaled(src), size, interpolation=cv2.INTER_AREA))

    def _update(self, src: np.ndarray, k: int, box: Box) -> None:
        f = 1 << k
        level = self._levels[k]
        lh, lw = level.shape[:2]
        # Whole level pixels covering the box, and the full-resolution block under them.
        lb = clip_box((box[0] // f, box[1] // f, -(-box[2] // f), -(-box[3] // f)), (lw, lh))
        if lb is None:
            return
        h, w = src.shape[:2]
        block = src[lb[1] * f : min(h, lb[3] * f), lb[0] * f : min(w, lb[2] * f)]
        level[lb[1] : lb[3], lb[0] : lb[2]] = cv2.resize(
            self._scaled(block), (lb[2] - lb[0], lb[3] - lb[1]), interpolation=cv2.INTER_AREA
        )
