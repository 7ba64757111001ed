"""The classical fill the networks refine, and how sketch strokes shape it.

Without strokes it is OpenCV's Telea fill. With strokes in the hole (the guided network's
input), the strokes are walls: the parts of the hole they separate are each filled by
Telea from the known pixels along their own stretch of the hole's edge, never from across
a stroke, and the strokes themselves then take the mean of both sides. A stroke drawn
across a hole therefore arrives at the network as what the user meant by it: the boundary
between two regions, each with the colour of its own side, instead of one blend that the
network would have to split on its own. A stroke that separates nothing (it stops short
of the hole's edge on one side) leaves the fill as Telea's.
"""

from __future__ import annotations

import cv2
import numpy as np

WALL_GROW = 1  # px each side: a 1-px diagonal stroke must not leak between its 4-neighbours
RING = 1  # px of known pixels beside a region that it is filled from (1, 2 and 4 measured: 1 best)
MIN_REGION = 4  # px: smaller pockets between strokes keep the plain fill


def classical_prior(rgb: np.ndarray, mask: np.ndarray, sketch: np.ndarray | None = None,
                    radius: int = 3) -> np.ndarray:
    """Telea's fill of ``mask`` (bool, True = hole); with ``sketch`` (uint8 or bool, strokes
    > 127 or True), the regions the strokes separate are filled each from their own side."""
    hole = mask.astype(bool)
    fill = cv2.inpaint(rgb, hole.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)
    if sketch is None:
        return fill
    strokes = (sketch > 127 if sketch.dtype != bool else sketch) & hole
    if not strokes.any():
        return fill
    k = 2 * WALL_GROW + 1
    walls = cv2.dilate(strokes.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool) & hole
    count, labels = cv2.connectedComponents((hole & ~walls).astype(np.uint8), connectivity=4)
    if count <= 2:  # one region (or none): the strokes separate nothing
        return fill
    out = fill.copy()
    known = ~hole
    ring_kernel = np.ones((2 * RING + 1, 2 * RING + 1), np.uint8)
    h, w = hole.shape
    for label in range(1, count):
        region = labels == label
        if region.sum() < MIN_REGION:
            continue
        ys, xs = np.nonzero(region)
        pad = RING + 2 * radius + 2
        y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1)
        x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
        sub = region[y0:y1, x0:x1]
        ring = cv2.dilate(sub.astype(np.uint8), ring_kernel).astype(bool) & known[y0:y1, x0:x1]
        if not ring.any():  # enclosed by strokes: nothing of its own to copy, keep Telea's
            continue
        # everything but the region's own ring is unknown, so the march starts from it alone
        own = cv2.inpaint(rgb[y0:y1, x0:x1], (~ring).astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)
        out[y0:y1, x0:x1][sub] = own[sub]
    # the strokes themselves: the mean of what lies either side of them
    return cv2.inpaint(out, walls.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)
