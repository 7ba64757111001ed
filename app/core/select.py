"""Object selection: the outline of the object inside a box (or under a click) as a mask.

Built on OpenCV's GrabCut, no model: the box plus a margin of context is cut out, GrabCut
runs on a copy whose long side is at most ``WORK_SIDE`` px, the result is scaled back up
and its edge is refined by a second GrabCut pass at full resolution that may only change a
thin band around the upscaled outline. The largest object is kept with its inner holes
filled, then grown by ``HALO_PX`` so a fill also covers the object's soft edge. A click
first finds its object on a copy of at most ``CLICK_SEARCH_SIDE`` px; that object starts
the cut of its extent (as probably object, the rest of the extent as probably background),
which a box as large as the photo alone did not: it kept a goat's rock and hills.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import cv2
import numpy as np

from app.core.brush import Box, Patch, Point, clip_box
from app.core.maskops import bounds, grow_mask

WORK_SIDE = 800  # GrabCut's long side on the downscaled copy
REFINE_PIXELS = 2_000_000  # outline refinement up to this many crop pixels (6M: the same outline, IoU 0.99, 25 % slower)
HALO_PX = 3  # selection grown by this much
CLICK_START_FRACTION = 0.06  # a click first looks this far (of the long side) around it
CLICK_NEAR_FRACTION = 0.16  # a click first searches at the work size while its box's half-side stays this small
CLICK_SEARCH_SIDE = 400  # beyond that, it finds its object's extent on a copy this small (long side)
CLICK_BOX_PAD = 0.08  # that extent is widened by this much of its larger side for the cut


class Stopped(Exception):
    """The selection's ``stop`` said it is no longer wanted (the editor's Esc)."""


_STOP = threading.local()  # the running selection's ``stop``, read between GrabCut's iterations


def _grabcut(image: np.ndarray, gc: np.ndarray, rect: tuple[int, int, int, int] | None, iters: int) -> np.ndarray:
    """GrabCut, one iteration per call (the later ones continue from the models the first
    made, which is what one call of ``iters`` does), so a selection's ``stop`` is heard
    within one iteration rather than after a whole cut of seconds."""
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    mode = cv2.GC_INIT_WITH_RECT if rect is not None else cv2.GC_INIT_WITH_MASK
    stop = getattr(_STOP, "fn", None)
    for i in range(max(1, iters)):
        if stop is not None and stop():
            raise Stopped
        cv2.grabCut(image, gc, rect, bgd, fgd, 1, mode if i == 0 else cv2.GC_EVAL)
    return (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)


def _keep_object(fg: np.ndarray, seed: tuple[int, int] | None) -> np.ndarray:
    """The component under ``seed`` (else the largest), with its inner holes filled."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros_like(fg)
    label = 0
    if seed is not None:
        label = int(labels[seed[1], seed[0]])
    if label == 0:
        label = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    obj = (labels == label).astype(np.uint8)
    # Fill holes: whatever background the frame cannot reach belongs to the object.
    padded = np.pad(obj, 1)
    flood = padded.copy()
    cv2.floodFill(flood, np.zeros((flood.shape[0] + 2, flood.shape[1] + 2), np.uint8), (0, 0), 1)
    holes = flood[1:-1, 1:-1] == 0
    return (obj > 0) | holes


def select_object(image: np.ndarray, box: Box | None = None, *, point: Point | None = None,
                  work_side: int = WORK_SIDE, halo: int = HALO_PX, iterations: int = 5,
                  stop: Callable[[], bool] | None = None) -> Patch | None:
    """See :func:`_select`; ``stop()`` True (asked between GrabCut's iterations) ends the
    selection with :class:`Stopped`."""
    _STOP.fn = stop
    try:
        return _select(image, box, point, work_side, halo, iterations)
    finally:
        _STOP.fn = None


def _select(image: np.ndarray, box: Box | None, point: Point | None, work_side: int, halo: int,
            iterations: int) -> Patch | None:
    """The object of an (H, W, 3) uint8 image inside ``box`` (x0, y0, x1, y1; image
    pixels), or, with ``box`` None, the object under the click ``point``.

    A box: GrabCut starts from "everything outside the box is background". A click:
    a small disc under the click is object; GrabCut grows a box around it on a small copy
    of the photo until the object under the click no longer reaches the box's sides
    (:func:`_grow_click`), and that object's extent, widened a little, is then cut at the
    work size starting from that object (probably object) and the rest of the extent
    (probably background), with the click kept as object. Returns a Patch (the box plus a
    margin of context), or None when nothing was found.
    """
    h, w = image.shape[:2]
    if box is None:
        if point is None:
            raise ValueError("select_object needs a box or a point")
        extent = _click_extent(image, point, iterations, work_side)
        if extent is None:
            return None
        box, guess, guess_scale = extent
    box = clip_box(box, (w, h))
    if box is None or box[2] - box[0] < 3 or box[3] - box[1] < 3:
        return None
    margin = max(8, int(0.15 * max(box[2] - box[0], box[3] - box[1]))) + halo
    crop_box = clip_box((box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin), (w, h))
    assert crop_box is not None
    cx0, cy0, cx1, cy1 = crop_box
    crop = np.ascontiguousarray(image[cy0:cy1, cx0:cx1])
    ch, cw = crop.shape[:2]
    f = min(1.0, work_side / max(ch, cw))
    if f > 0.75:  # hardly smaller: one full-size cut is cheaper than a cut and a refinement
        f = 1.0
    small = crop if f >= 1.0 else cv2.resize(crop, (max(1, round(cw * f)), max(1, round(ch * f))),
                                              interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    seed = None
    if point is not None:
        seed = (int(np.clip((point[0] - cx0) * f, 0, sw - 1)), int(np.clip((point[1] - cy0) * f, 0, sh - 1)))
    rx0, ry0 = int((box[0] - cx0) * f), int((box[1] - cy0) * f)
    rx1, ry1 = min(sw, int(np.ceil((box[2] - cx0) * f))), min(sh, int(np.ceil((box[3] - cy0) * f)))
    gc = np.zeros((sh, sw), np.uint8)
    if point is not None:
        # a click: the object found on the small copy starts the cut (probably object), the rest
        # of the box probably background; a box as large as the photo alone would let GrabCut
        # keep background (a goat's rock and hills: 63 % of the photo)
        gc[:] = cv2.GC_BGD
        gc[ry0:ry1, rx0:rx1] = cv2.GC_PR_BGD
        gx0, gy0, gx1, gy1 = (cx0 * guess_scale, cy0 * guess_scale, cx1 * guess_scale, cy1 * guess_scale)
        part = guess[int(gy0):max(int(gy0) + 1, int(np.ceil(gy1))), int(gx0):max(int(gx0) + 1, int(np.ceil(gx1)))]
        up = cv2.resize(part.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST).astype(bool)
        gc[up & (gc == cv2.GC_PR_BGD)] = cv2.GC_PR_FGD
        cv2.circle(gc, seed, 2, int(cv2.GC_FGD), -1)
        fg = _grabcut(small, gc, None, iterations)
    else:
        fg = _grabcut(small, gc, (rx0, ry0, max(2, rx1 - rx0), max(2, ry1 - ry0)), iterations)
        if seed is not None:
            cv2.circle(gc, seed, 2, int(cv2.GC_FGD), -1)
            fg = _grabcut(small, gc, None, 2)
    fg = _keep_object(fg, seed)
    if not fg.any():
        return None
    if f < 1.0:
        up = cv2.resize(fg.astype(np.float32), (cw, ch), interpolation=cv2.INTER_LINEAR) >= 0.5
        band = int(np.ceil(2 / f)) + 2
        rb = bounds(up, 2 * band + 2)  # refine only around the object
        assert rb is not None
        fg = np.zeros_like(up)
        fg[rb[1]:rb[3], rb[0]:rb[2]] = _refine(crop[rb[1]:rb[3], rb[0]:rb[2]], up[rb[1]:rb[3], rb[0]:rb[2]], band)
        full_seed = None if point is None else (int(np.clip(point[0] - cx0, 0, cw - 1)),
                                                int(np.clip(point[1] - cy0, 0, ch - 1)))
        fg = _keep_object(fg, full_seed)
        if not fg.any():
            return None
    if halo > 0:
        fg = grow_mask(fg, halo)
    return Patch(crop_box, fg)


def _click_extent(image: np.ndarray, point: Point, iterations: int, work_side: int
                  ) -> tuple[Box, np.ndarray, float] | None:
    """The box a click's object fills: a search at the work size while the box stays small
    (CLICK_NEAR_FRACTION: a small object keeps its detail), else on a copy of at most
    CLICK_SEARCH_SIDE px (a growing search at the work size took up to a minute for a large
    object); widened by CLICK_BOX_PAD and kept a pixel inside the photo (GrabCut needs some
    background)."""
    h, w = image.shape[:2]
    found, g = None, 1.0
    for side, limit in ((work_side, CLICK_NEAR_FRACTION), (CLICK_SEARCH_SIDE, None)):
        g = min(1.0, side / max(h, w))
        small = image if g >= 1.0 else cv2.resize(image, (max(1, round(w * g)), max(1, round(h * g))),
                                                  interpolation=cv2.INTER_AREA)
        sh, sw = small.shape[:2]
        seed = (int(np.clip(point[0] * g, 0, sw - 1)), int(np.clip(point[1] * g, 0, sh - 1)))
        fg = _grow_click(small, seed, iterations, None if limit is None else int(limit * max(sh, sw)))
        if fg is not None:
            guess = _keep_object(fg, seed)
            found = bounds(guess)
            break
    if found is None:
        return None
    pad = 1 + CLICK_BOX_PAD * max(found[2] - found[0], found[3] - found[1])
    x0, y0, x1, y1 = ((found[0] - pad) / g, (found[1] - pad) / g, (found[2] + pad) / g, (found[3] + pad) / g)
    box = (max(1, int(x0)), max(1, int(y0)), min(w - 1, int(np.ceil(x1))), min(h - 1, int(np.ceil(y1))))
    return box, guess, g


def _grow_click(small: np.ndarray, seed: tuple[int, int], iterations: int,
                max_half: int | None = None) -> np.ndarray | None:
    """A click: GrabCut in a box around it (with as much context again around the box),
    the box grown until the object under the click fills a fair part of it without running
    into its sides, or the box is the whole photo; None when the box's half-side would
    pass ``max_half`` first."""
    sh, sw = small.shape[:2]
    half = max(8, int(CLICK_START_FRACTION * max(sh, sw)))
    while True:
        if max_half is not None and half > max_half:
            return None
        x0, y0 = max(0, seed[0] - half), max(0, seed[1] - half)
        x1, y1 = min(sw, seed[0] + half + 1), min(sh, seed[1] + half + 1)
        whole = x0 == 0 and y0 == 0 and x1 == sw and y1 == sh
        if whole:
            x0, y0, x1, y1 = 1, 1, max(2, sw - 1), max(2, sh - 1)
        # context region: the box and half its size again on each side
        c0, d0 = max(0, seed[0] - 2 * half), max(0, seed[1] - 2 * half)
        c1, d1 = min(sw, seed[0] + 2 * half + 1), min(sh, seed[1] + 2 * half + 1)
        region = np.ascontiguousarray(small[d0:d1, c0:c1])
        gc = np.zeros(region.shape[:2], np.uint8)
        _grabcut(region, gc, (x0 - c0, y0 - d0, x1 - x0, y1 - y0), iterations)
        local_seed = (seed[0] - c0, seed[1] - d0)
        cv2.circle(gc, local_seed, 2, int(cv2.GC_FGD), -1)
        fg = np.zeros((sh, sw), bool)
        fg[d0:d1, c0:c1] = _keep_object(_grabcut(region, gc, None, 2), local_seed)
        if whole:
            return fg
        rows, cols = np.flatnonzero(fg.any(axis=1)), np.flatnonzero(fg.any(axis=0))
        # GrabCut keeps everything outside the box background, and its smoothness leaves an
        # object cut by the box a few pixels short of the box's side: near counts as touching
        near = max(4, (x1 - x0) // 12)
        touches = fg.sum() < 0.05 * (x1 - x0) * (y1 - y0) or (  # only the click itself
            (x0 > 0 and cols[0] <= x0 + near) or (y0 > 0 and rows[0] <= y0 + near)
            or (x1 < sw and cols[-1] >= x1 - 1 - near) or (y1 < sh and rows[-1] >= y1 - 1 - near))
        if not touches:
            return fg
        half = int(half * 1.6) + 1


def _refine(crop: np.ndarray, up: np.ndarray, band: int) -> np.ndarray:
    """Snap the upscaled outline to the full-resolution edges: GrabCut may only change the
    pixels within ``band`` of the outline (a crop too large for that is refined at the
    largest size that fits ``REFINE_PIXELS``)."""
    ch, cw = up.shape
    g = min(1.0, float(np.sqrt(REFINE_PIXELS / (ch * cw))))
    img, m = crop, up
    if g < 1.0:
        size = (max(1, round(cw * g)), max(1, round(ch * g)))
        img = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        m = cv2.resize(up.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        band = max(2, int(band * g))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    inner = cv2.erode(m.astype(np.uint8), k) > 0
    outer = cv2.dilate(m.astype(np.uint8), k) > 0
    gc = np.full(m.shape, cv2.GC_BGD, np.uint8)
    gc[outer] = cv2.GC_PR_BGD
    gc[m] = cv2.GC_PR_FGD
    gc[inner] = cv2.GC_FGD
    if not inner.any() or (gc == cv2.GC_BGD).sum() == 0:
        return up  # too thin or fills the crop: nothing reliable to refine against
    fg = _grabcut(np.ascontiguousarray(img), gc, None, 2)
    if g < 1.0:
        fg = cv2.resize(fg.astype(np.uint8), (cw, ch), interpolation=cv2.INTER_NEAREST) > 0
    return fg
