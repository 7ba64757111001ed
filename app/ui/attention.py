"""The attention viewer: click a filled pixel, see where the fill borrowed from.

The engine's ``explain`` runs in the inference worker; this module only turns its maps into
a translucent heat map (attention) or a colour map (learned temperature) for the canvas.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QImage

from app.ui.qimage import rgba_image

MAX_SIDE = 1024  # the maps come from a coarse attention grid; more pixels add nothing


def _shrink(values: np.ndarray) -> np.ndarray:
    h, w = values.shape
    f = max(h, w) / MAX_SIDE
    if f <= 1:
        return values.astype(np.float32)
    return cv2.resize(values.astype(np.float32), (max(1, round(w / f)), max(1, round(h / f))),
                      interpolation=cv2.INTER_AREA)


def attention_heatmap(attention: np.ndarray) -> QImage:
    """Inferno colours whose opacity follows the weight, so the photo shows through where
    the pixel borrowed nothing."""
    a = _shrink(attention)
    valid = a > 0
    # Show only what gets more than an even share: a flat (untrained or blending) head
    # then reads as "borrowed from everywhere a little" instead of a solid wash.
    base = float(np.median(a[valid])) if valid.any() else 0.0
    top = float(a.max())
    if top <= 0:
        a = np.zeros_like(a)
    elif top - base > 1e-3 * top:
        a = np.clip((a - base) / (top - base), 0, 1)
    else:  # one key, or exactly even weights: show them as they are
        a = a / top
    a = np.sqrt(a)  # weights are peaky; the square root makes second sources visible
    colors = cv2.applyColorMap((a * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)[..., ::-1]
    alpha = (np.clip(a * 1.4, 0, 1) * 235).astype(np.uint8)
    return rgba_image(np.dstack([colors, alpha]))


def temperature_map(temperature: np.ndarray) -> tuple[QImage, float, float]:
    """Opaque-ish colour map of the temperature, with its range for the legend."""
    t = _shrink(temperature)
    lo, hi = float(t.min()), float(t.max())
    norm = (t - lo) / (hi - lo) if hi > lo else np.zeros_like(t)
    colors = cv2.applyColorMap((norm * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)[..., ::-1]
    alpha = np.full(t.shape, 200, np.uint8)
    return rgba_image(np.dstack([colors, alpha])), lo, hi
