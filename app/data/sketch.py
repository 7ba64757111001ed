"""Turn a photo into strokes that look drawn by a person (numpy + OpenCV only).

Raw Canny output is noise to a user: doubled contours, specks, texture. The guided model
must learn from strokes like the ones the sketch pen makes, so (MODEL.md, "Sketch
generation"):

1. smooth (edge-preserving bilateral, then a little Gaussian) so texture does not fire;
2. Canny with thresholds taken from the image's own gradient-magnitude percentiles, so
   a dim photo and a contrasty one give a similar amount of line;
3. thin to one pixel (Zhang-Suen; ``cv2.ximgproc`` is not in opencv-python 5);
4. split the skeleton into connected lines (the strokes) and drop short fragments;
5. simplify each stroke (``approxPolyDP``) and redraw it as a polyline;
6. drop whole strokes with probability ``drop``, vary widths (1-3 px at 256 px);
7. keep only what lies inside the hole when a mask is given.

Output follows the app convention: uint8 (H, W), 0 = no stroke, 255 = stroke.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.core.names import REFERENCE_SIDE

# Gradient-magnitude percentiles (of the smoothed image) used as Canny's hysteresis
# thresholds: strong edges seed a line, weaker connected ones continue it.
HIGH_PERCENTILE = 88.0
LOW_FRACTION = 0.4
MIN_HIGH = 40.0  # L2 Sobel units (0..~1442); below this the picture is flat: no strokes
MIN_STROKE_LEN = 24.0  # px at 256 px; shorter fragments read as noise, not drawing
SIMPLIFY_EPS = 1.0  # px at 256 px: polyline tolerance


def _scale(size_hw: tuple[int, int]) -> float:
    return min(size_hw[0], size_hw[1]) / REFERENCE_SIDE


# ----------------------------------------------------------------------------- thinning
def zhang_suen_thin(binary: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """Zhang & Suen (1984) thinning of a bool image to 1-px, 8-connected lines."""
    img = np.pad(binary.astype(bool), 1)
    for _ in range(max_iter):
        changed = False
        for step in (0, 1):
            p = img
            # neighbours P2..P9, clockwise from north
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:], p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]
            c = p[1:-1, 1:-1]
            nb = sum(x.astype(np.uint8) for x in n)
            # A = number of 0 -> 1 transitions in the circular sequence P2..P9,P2
            trans = sum(((~n[i]) & n[(i + 1) % 8]).astype(np.uint8) for i in range(8))
            if step == 0:
                cond = ~(n[0] & n[2] & n[4]) & ~(n[2] & n[4] & n[6])
            else:
                cond = ~(n[0] & n[2] & n[6]) & ~(n[0] & n[4] & n[6])
            remove = c & (nb >= 2) & (nb <= 6) & (trans == 1) & cond
            if remove.any():
                changed = True
                img[1:-1, 1:-1] = c & ~remove
        if not changed:
            break
    return img[1:-1, 1:-1]


def _neighbour_count(binary: np.ndarray) -> np.ndarray:
    k = np.ones((3, 3), np.float32)
    k[1, 1] = 0
    return cv2.filter2D(binary.astype(np.uint8), cv2.CV_16S, k, borderType=cv2.BORDER_CONSTANT)


# ----------------------------------------------------------------------------- edges
def edge_map(rgb: np.ndarray) -> np.ndarray:
    """Thin (1 px) bool edges of the smoothed image, thresholds from its own gradients."""
    gray = rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    s = _scale(gray.shape)
    d = max(5, int(round(5 * s)) | 1)
    smooth = cv2.bilateralFilter(gray, d, 40, 3 * s + 1)
    smooth = cv2.GaussianBlur(smooth, (0, 0), 1.0 * s + 0.5)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    mag = cv2.magnitude(gx, gy)
    high = float(np.percentile(mag, HIGH_PERCENTILE))
    high = max(high, MIN_HIGH)
    edges = cv2.Canny(smooth, LOW_FRACTION * high, high, apertureSize=3, L2gradient=True) > 0
    return zhang_suen_thin(edges)


def trace_strokes(skeleton: np.ndarray, min_len: float) -> list[np.ndarray]:
    """Connected lines of a 1-px skeleton as contour point arrays ((N,1,2), int32).

    A line with fewer than ``min_len`` pixels is a fragment (texture, noise) and goes.
    Whole connected lines (not junction-split branches) are the unit a drop removes:
    splitting at junctions turned outlines into dashes that no person draws.
    """
    sk = skeleton.astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(sk, connectivity=8)
    # CCOMP, not EXTERNAL: a line inside a closed outline (an eye in a face) is its own
    # top-level component there; hole boundaries (parent != -1) would double each loop
    contours, hierarchy = cv2.findContours(sk, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    strokes = []
    for c, h in zip(contours, hierarchy[0] if hierarchy is not None else [], strict=True):
        if h[3] != -1:
            continue
        x, y = c[0, 0]
        if stats[labels[y, x], cv2.CC_STAT_AREA] >= min_len:
            strokes.append(c)
    # keep a deterministic order (findContours order is already deterministic, but sort
    # by position so the RNG draws map to the same strokes whatever the OpenCV version)
    strokes.sort(key=lambda c: (int(c[:, 0, 1].min()), int(c[:, 0, 0].min()), len(c)))
    return strokes


# ----------------------------------------------------------------------------- sketch
def make_sketch(
    rgb: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    seed: int = 0,
    width: int | None = None,
    drop: float = 0.3,
) -> np.ndarray:
    """Sketch strokes of ``rgb`` (uint8 (H,W,3) or (H,W)); uint8 (H,W) in {0, 255}.

    ``width`` fixes the stroke width in pixels; by default each stroke gets 1-3 px at
    256 px (scaled with the image). ``drop`` is the chance of leaving out a whole
    stroke. With ``mask`` (bool, True = hole) only strokes inside the hole are kept.
    Deterministic for a given ``seed``.
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim not in (2, 3) or (rgb.ndim == 3 and rgb.shape[2] != 3):
        raise ValueError(f"make_sketch expects uint8 (H,W,3) or (H,W), got {rgb.dtype} {rgb.shape}")
    h, w = rgb.shape[:2]
    if mask is not None:
        mask = np.asarray(mask, bool)
        if mask.shape != (h, w):
            raise ValueError(f"mask shape {mask.shape} does not match image {(h, w)}")
    if not 0.0 <= drop <= 1.0:
        raise ValueError(f"drop must lie in [0, 1], got {drop}")
    if width is not None and width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    rng = np.random.default_rng(seed)
    s = _scale((h, w))
    out = np.zeros((h, w), np.uint8)
    if mask is not None and not mask.any():
        return out
    strokes = trace_strokes(edge_map(np.ascontiguousarray(rgb)), MIN_STROKE_LEN * max(s, 0.5))
    # draw RNG values for every stroke even when fixed so seeds pick the same drops
    keep = rng.random(len(strokes)) >= drop
    widths = rng.integers(1, 4, size=len(strokes))
    thin = np.zeros((h, w), np.uint8)  # 1-px strokes: re-thinned after drawing
    eps = SIMPLIFY_EPS * max(s, 0.5)
    for c, k, wd in zip(strokes, keep, widths, strict=True):
        if not k:
            continue
        pts = cv2.approxPolyDP(c, eps, True)
        px = int(width) if width is not None else max(1, int(round(wd * s)))
        cv2.polylines(thin if px == 1 else out, [pts], True, 255, thickness=px, lineType=cv2.LINE_8)
    if thin.any():
        # the there-and-back polyline of a simplified path can sit 1 px beside itself
        out |= zhang_suen_thin(thin > 0).astype(np.uint8) * 255
    if mask is not None:
        out[~mask] = 0
    return out


def overlay(rgb: np.ndarray, sketch: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """The photo (holes dimmed) with strokes drawn on it in red, for checking by eye."""
    vis = rgb.copy() if rgb.ndim == 3 else cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB)
    if mask is not None:
        vis[mask] = (vis[mask] * 0.35).astype(np.uint8)
    vis[sketch > 0] = (255, 40, 40)
    return vis
