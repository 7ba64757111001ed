"""Feathered compositing: blend a fill's edge softly into the photo.

The fill is asked for the hole grown by ``px`` (``feather_hole``); ``feather_composite``
then takes the fill fully inside the hole and fades it out over the ``px`` pixels around
it, so the seam becomes a short gradient instead of a hard edge. Pixels farther than
``px`` from the hole are never changed, and neither are protected pixels outside it (the
ring stops at a protect mask). The editor, ``inpaint`` and ``batch`` share it.
"""

from __future__ import annotations

import numpy as np

from app.core.maskops import bounds, distance_to, grow_mask

DEFAULT_FEATHER_PX = 3


def _kept(mask: np.ndarray, protect: np.ndarray | None) -> np.ndarray | None:
    """Protected pixels outside the hole: the feather ring never reaches them."""
    if protect is None:
        return None
    protect = np.asarray(protect, bool)
    if protect.shape != mask.shape:
        raise ValueError(f"shapes differ: mask {mask.shape}, protect {protect.shape}")
    kept = protect & ~mask
    return kept if kept.any() else None


def feather_alpha(mask: np.ndarray, px: int, protect: np.ndarray | None = None) -> np.ndarray:
    """float32 alpha: 1 in the hole, ``1 - d / (px + 1)`` at distance d <= px outside it,
    0 farther away (and everywhere outside the hole when px <= 0), and 0 on ``protect``
    outside the hole."""
    mask = np.asarray(mask, bool)
    alpha = mask.astype(np.float32)
    px = int(px)
    box = bounds(mask, px + 1) if px > 0 else None
    if box is None:
        return alpha
    x0, y0, x1, y1 = box
    d = distance_to(mask[y0:y1, x0:x1])
    alpha[y0:y1, x0:x1] = np.where(d <= px, 1.0 - d / (px + 1), 0.0)
    kept = _kept(mask, protect)
    if kept is not None:
        alpha[kept] = 0.0
    return alpha


def feather_hole(mask: np.ndarray, px: int, protect: np.ndarray | None = None) -> np.ndarray:
    """The area the engine must fill so that the feathered ring has fill pixels to blend:
    the hole grown by ``px``, less the protected pixels outside it."""
    mask = np.asarray(mask, bool)
    grown = grow_mask(mask, max(0, int(px)))
    kept = _kept(mask, protect)
    return grown & ~kept if kept is not None else grown


def feather_composite(original: np.ndarray, filled: np.ndarray, mask: np.ndarray, px: int,
                      protect: np.ndarray | None = None) -> np.ndarray:
    """``filled`` inside ``mask``, fading into ``original`` over ``px`` pixels outside it,
    except on ``protect`` (H, W) bool, which keeps ``original`` outside the hole.

    ``original`` and ``filled`` are (H, W, 3) uint8 of one size, ``mask`` (H, W) bool. With
    px <= 0 this is a plain hard-edged composite. Returns a new uint8 array.
    """
    if original.shape != filled.shape or original.shape[:2] != mask.shape:
        raise ValueError(f"shapes differ: original {original.shape}, filled {filled.shape}, mask {mask.shape}")
    mask = np.asarray(mask, bool)
    out = original.copy()
    px = int(px)
    box = bounds(mask, px + 1 if px > 0 else 0)  # the hole's box: a 24 MP photo is not scanned whole
    if box is None:
        return out
    x0, y0, x1, y1 = box
    inside = mask[y0:y1, x0:x1]
    out[y0:y1, x0:x1][inside] = filled[y0:y1, x0:x1][inside]
    if px <= 0:
        return out
    a = feather_alpha(mask[y0:y1, x0:x1], px, None if protect is None else np.asarray(protect, bool)[y0:y1, x0:x1])
    ring = (a > 0) & (a < 1)
    if ring.any():
        o = original[y0:y1, x0:x1][ring].astype(np.float32)
        f = filled[y0:y1, x0:x1][ring].astype(np.float32)
        w = a[ring][:, None]
        out[y0:y1, x0:x1][ring] = np.clip(np.rint(o + (f - o) * w), 0, 255).astype(np.uint8)
    return out
