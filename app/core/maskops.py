"""Mask refinement: grow, shrink and invert a boolean hole mask by exact Euclidean distances.

Growing by ``px`` adds every pixel whose distance to the hole is at most ``px`` (a round
brush, not a square one); shrinking is growing the complement. Work happens only inside the
hole's bounding box plus the margin, so a small hole on a 24 MP photo stays cheap.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.core.brush import Box, clip_box

DEFAULT_STEP_PX = 4  # Grow / Shrink mask step (image pixels, i.e. screen pixels at 100 %)


def as_bool(mask: np.ndarray) -> np.ndarray:
    """``mask`` as a bool array; the array itself when it already is one (a copy of a 24 MP
    mask costs 24 MB and, on a fresh process, the time to fault its pages in)."""
    return np.asarray(mask, dtype=bool)


def as_uint8(mask: np.ndarray) -> np.ndarray:
    """A bool mask as 0/1 uint8 for OpenCV to read: a view of the same bytes when it is a
    contiguous bool array, else a copy. Never write through it."""
    if mask.dtype == bool and mask.flags.c_contiguous:
        return mask.view(np.uint8)
    return np.asarray(mask, dtype=bool).astype(np.uint8)


def bounds(mask: np.ndarray, pad: int = 0) -> Box | None:
    """Bounding box of the set pixels, padded by ``pad`` and clipped; None when empty."""
    x, y, bw, bh = cv2.boundingRect(as_uint8(mask))  # a few ms on a 24 MP mask
    if bw == 0 or bh == 0:
        return None
    h, w = mask.shape
    return clip_box((x - pad, y - pad, x + bw + pad, y + bh + pad), (w, h))


def distance_to(mask: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance (float32) of every pixel to the nearest set pixel of ``mask``
    (0 on it). An empty mask gives +inf everywhere."""
    if not mask.any():
        return np.full(mask.shape, np.inf, np.float32)
    outside = np.ascontiguousarray((~mask).astype(np.uint8))
    return cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def depth_in_hole(mask: np.ndarray) -> np.ndarray:
    """How deep each hole pixel lies: its distance (float32, 3 x 3 L2 approximation) to the
    nearest pixel outside the hole, the frame counting as outside; 0 outside the hole."""
    padded = np.pad(np.asarray(mask, np.uint8), 1)
    return cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1]


MOSTLY_HOLE = 0.9  # a mask covering more than this much of the photo is likely inverted


def mostly_hole(mask: np.ndarray, files: bool = True) -> str | None:
    """A note when ``mask`` covers most of the photo (a black/white mix-up fills everything
    but the object); None otherwise. ``files``: the mask came from a file, where white
    marks the hole (the editor paints it in a colour of its own)."""
    share = float(np.asarray(mask, bool).mean())
    if share <= MOSTLY_HOLE:
        return None
    why = "white marks what is filled: is it inverted?" if files else "is it inverted?"
    return f"the mask covers {share * 100:.1f} % of the photo ({why})"


def thin_strokes(strokes: np.ndarray, width: int) -> np.ndarray:
    """Sketch strokes (bool) redrawn ``width`` px wide along their middle: a morphological
    skeleton (Lantuejoul), widened to ``width``."""
    s = np.asarray(strokes, bool).astype(np.uint8)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    skeleton = np.zeros_like(s)
    while s.any():
        skeleton |= s & (1 - cv2.morphologyEx(s, cv2.MORPH_OPEN, cross))
        s = cv2.erode(s, cross)
    return cv2.dilate(skeleton, np.ones((width, width), np.uint8)).astype(bool)


def compactness(area: float, deepest: float) -> float:
    """How stroke-like a hole of ``area`` pixels is whose deepest pixel lies ``deepest`` px
    from its edge: its area over that of the disc as deep (pi * deepest^2). 1 for a disc,
    about 1.3 for a square, more the longer and thinner the hole; the same at any scale."""
    return float(area) / (np.pi * max(1.0, float(deepest)) ** 2)


def grow_mask(mask: np.ndarray, px: int) -> np.ndarray:
    """A new mask: ``mask`` plus every pixel within ``px`` (Euclidean) of it."""
    mask = np.asarray(mask, bool)
    px = int(px)
    if px <= 0:
        return mask.copy()
    out = mask.copy()
    box = bounds(mask, px + 1)
    if box is None:
        return out
    x0, y0, x1, y1 = box
    out[y0:y1, x0:x1] = distance_to(mask[y0:y1, x0:x1]) <= px
    return out


def shrink_mask(mask: np.ndarray, px: int) -> np.ndarray:
    """A new mask without every pixel within ``px`` of the outside (the image border is not
    outside: a hole touching the frame keeps touching it)."""
    mask = np.asarray(mask, bool)
    px = int(px)
    if px <= 0:
        return mask.copy()
    out = mask.copy()
    box = bounds(mask, 1)
    if box is None:
        return out
    h, w = mask.shape
    x0, y0, x1, y1 = box
    # Pad with "hole" across the frame so the border does not count as outside.
    crop = np.pad(mask[y0:y1, x0:x1], 1, constant_values=False)
    if x0 == 0:
        crop[:, 0] = True
    if y0 == 0:
        crop[0, :] = True
    if x1 == w:
        crop[:, -1] = True
    if y1 == h:
        crop[-1, :] = True
    keep = distance_to(~crop) > px
    out[y0:y1, x0:x1] = keep[1:-1, 1:-1] & mask[y0:y1, x0:x1]
    return out


def invert_mask(mask: np.ndarray) -> np.ndarray:
    return ~np.asarray(mask, bool)


def nothing_to_fill_from(mask: np.ndarray, protect: np.ndarray | None = None) -> str | None:
    """Why a fill of ``mask`` (the hole the engine gets, feather ring included) would have
    no pixel to fill it from, as one line; None when it has some (or the hole is empty).
    Every engine builds the hole from the photo outside it: a hole over the whole photo
    gives black, a blur of what was to be removed, or the photo unchanged."""
    hole = as_bool(mask)
    if not hole.any():
        return None
    if hole.all():
        return ("the hole covers the whole image: nothing is left to fill it from; "
                "leave part of the photo outside the mask")
    if protect is not None and (as_bool(protect) | hole).all():
        return "the protect mask covers everything outside the hole: nothing is left to copy from"
    return None
