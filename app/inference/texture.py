"""The texture stage: the network decides what goes in the hole, the photo supplies texture.

A network filling at its working size gives the right colours and structure but no grain.
The texture stage copies the photo's own pixels at full resolution with PatchMatch and
keeps the network in charge of the structure, in one of two ways (chosen by measurement,
see docs/RESULTS.md):

- ``guided``: PatchMatch whose patch distance also compares each source patch with the
  network's (slightly blurred) fill, so it copies grain that fits the network's layout;
  the approach of guided PatchMatch for camera-resolution inpainting (Zhang et al. 2022).
- ``split``: a frequency split; the network's fill below ``sigma`` plus the detail
  (image minus its blur) of a free PatchMatch fill above it.
- ``blend`` (the default, measured best): a free PatchMatch fill whose low frequencies are
  moved toward the network's with depth into the hole: none at the hole's edge, where
  PatchMatch copies from right beside it and is hard to beat, the most ``depth`` and
  more inside, where the network knows the layout better than a patch search. The
  ``join`` says how much and down to which scale (JOINS): "gentle" (shipped) takes only
  the network's broadest layout (COMPACT_SIGMA), at most COMPACT_CAP of it and never more
  than GENTLE_LIMIT grey levels, in every hole region; "shape" did so only in compact
  blobs and took all of it, finer, in brush-stroke-like regions (COMPACT); "stroke" did
  the latter everywhere.

Sketch strokes are where the user said the layout is: there the network's fill (the guided
network's, which keeps the two sides of a stroke apart) takes over. Within STROKE_REACH of
a stroke its low frequencies rule as they do deep in the hole, and on the stroke itself
(STROKE_CORE) the network's pixels replace the copy, so the boundary the user drew stays a
sharp edge instead of whatever PatchMatch copied across it. With strokes the search itself
is guided by the network's fill too (STROKE_GUIDE_WEIGHT, less on large photos), so the
copy keeps to each side of the boundary the user drew: by the main colour groups of that
fill and the photo around it (``colour_groups``), free within a group, so a lawn or a sky
keeps its grain. The join near strokes was measured on 24 training photos x 5 buckets with
the guided network: PSNR +0.36 dB (project sketches) and +0.60 dB (Canny sketches),
ST-LPIPS-vgg 0.1317 -> 0.1288 and 0.1308 -> 0.1267, edge F1 along the strokes 0.36 -> 0.47
and 0.45 -> 0.57 (docs/RESULTS.md).

``sigma`` and ``depth`` are given for a REFERENCE_SIDE (256-px) image, the evaluation's
scale, and grow with the photo's short side, so a photo fills alike at any resolution.

``protect`` (True = never copy from here) reaches PatchMatch as its global mask.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from app.core.maskops import as_bool, as_uint8, compactness, depth_in_hole
from app.core.names import REFERENCE_SIDE

from . import patchmatch
from .colour_groups import group_map

METHODS = ("guided", "split", "blend")
GUIDE_BLUR = 2.0  # px: the guide's fine detail is the network's noise, not structure
SPLIT_SIGMA = 3.0  # px at REFERENCE_SIDE
BLEND_DEPTH = 32.0  # px at REFERENCE_SIDE: from the hole's edge to where the network's layout rules
STROKE_REACH = 16.0  # px at REFERENCE_SIDE: how far from a stroke its low frequencies rule (16, 32 measured alike)
STROKE_CORE = 2.0  # px at REFERENCE_SIDE: the network's own pixels fade out over this from a stroke (2, 3, 4, 6, 10 measured)
# The gentle join takes the network's layout only at COMPACT_SIGMA and at most COMPACT_CAP
# of it: deep in a hole the network's fill is smooth, and copying its finer layout onto the
# texture costs realism (KID) for little. Within STROKE_REACH of a sketch stroke the full,
# finer join rules all the same. JOIN says which hole regions take it: "gentle" every one
# (shipped 3 Dec 2026: on held-out photos KID came closer to PatchMatch's or below it while
# ST-LPIPS-vgg and PSNR stayed ahead of it in every bucket, docs/RESULTS.md); "shape" (2 Dec)
# read each region's shape: its compactness k = area / (pi * depth^2), depth the distance
# from its deepest pixel to its edge, is 1 for a disc and grows with how stroke-like it is
# (brush-stroke masks: median 4.3; object outlines and boxes: 2.3); a compact region
# (k <= COMPACT[0]) took the gentle join, a stroke-like one (k >= COMPACT[1]) the full
# BLEND_DEPTH join at SPLIT_SIGMA, shapes between a mix; "stroke" took the full join everywhere.
COMPACT = (2.0, 4.0)
COMPACT_SIGMA = 8.0  # px at REFERENCE_SIDE
COMPACT_CAP = 0.5
# The gentle join moves no pixel further than GENTLE_LIMIT grey levels (the length of the
# RGB change) from PatchMatch's copy. Where the network and the copy disagree a lot, the
# network is most often smearing the removed object or a far region into the hole, and
# half of that (COMPACT_CAP) is a muddy ghost over copied texture; small corrections of
# colour and shading pass whole. Near strokes the limit gives way as the gentle join does
# (within STROKE_REACH), so the network's layout along them still rules.
GENTLE_LIMIT = 16.0
# With sketch strokes the patch search is guided by the network's fill ("blend" only): a free
# search does not know where the user drew a boundary and copied grass over a horizon drawn
# across the hole. The guide keeps each side's copy to its side; the join then works as
# without it. Measured at 512 px with the project's sketches and with Canny edges of the
# truth (docs/RESULTS.md): edge F1, ST-LPIPS and PSNR better; KID worse within its error.
# On larger photos the network's fill, made at its working size and enlarged, knows less of
# each pixel, and a guide as strong pulls the copy toward its smooth colours: at 768 px a
# weight of 0.1 measured better than 0.5 on KID, ST-LPIPS-vgg and -alex (edge F1 lower, still
# above the free search's), and on a 3,640-px photo it left a far smaller haze of the
# network's colours in the sky above a drawn horizon, which 0.03 no longer held. So the
# weight is STROKE_GUIDE_WEIGHT[0] up to a short side of STROKE_GUIDE_SIDES[0] px and falls
# linearly to STROKE_GUIDE_WEIGHT[1] at STROKE_GUIDE_SIDES[1] px and above.
# Since 5 Dec 2026 (session 25) the guide is the colour groups of the fill and the photo
# around it (colour_groups.py) instead of the fill's chroma pixel by pixel, which smeared
# one-coloured textures: KID and ST-LPIPS better, edge F1 a little lower. With the groups,
# 0.5 and 0.1 at 768 px measured alike, so the weights stay.
STROKE_GUIDE_WEIGHT = (0.5, 0.1)
STROKE_GUIDE_SIDES = (512, 768)
JOINS = ("gentle", "shape", "stroke")
JOIN = "gentle"


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image.astype(np.float32, copy=False), (0, 0), sigma)


def _scale(mask: np.ndarray) -> float:
    return min(mask.shape) / REFERENCE_SIDE


def search_follows_network(method: str, stroked: bool) -> bool:
    """Whether the texture stage's patch search runs after the network, guided by its fill
    ("guided"; "blend" along strokes), rather than beside it."""
    return method == "guided" or (stroked and method == "blend")


def texture_stage(
    rgb: np.ndarray,
    mask: np.ndarray,
    network_fill: Callable[[], np.ndarray],
    *,
    method: str = "blend",
    protect: np.ndarray | None = None,
    seed: int = 0,
    guide_weight: float = 1.0,
    progress=None,
    strokes: np.ndarray | None = None,
    join: str = JOIN,
    limit: float | None = GENTLE_LIMIT,
) -> np.ndarray:
    """Put the photo's texture on the network's fill of ``rgb``.

    ``network_fill()`` returns the network's composited fill: an array, or anything that
    gives a box's pixels when indexed with two slices (``predict.PatchedImage``). "split"
    and "blend" do not need it for the patch search, so PatchMatch runs beside it in a
    thread (the native library releases the GIL) and the two cost about the longer one;
    "guided" needs it first, and so does "blend" with ``strokes``, whose search it guides.
    ``progress(done, total)`` counts the network's fill as one part and each hole region
    PatchMatch fills as one more. ``strokes`` (bool, the sketch) hand the layout along them
    to the network ("split" and "blend"); ``join``: see JOINS ("blend"); ``limit``: how far
    in grey levels the gentle join may move a pixel (GENTLE_LIMIT; None: no limit).
    Returns the composited uint8 image; pixels outside ``mask`` are ``rgb``'s exactly.
    """
    if method not in METHODS:
        raise ValueError(f"texture method must be one of {METHODS}, got {method!r}")
    mask = as_bool(mask)
    if not mask.any():
        return rgb.copy()
    boxes = patchmatch.crop_boxes(mask)
    done, lock = [0], threading.Lock()
    halt = threading.Event()

    def step(*counts: int) -> None:
        if halt.is_set():  # the calling thread has given up: stop the search beside it too
            raise _Halted
        if counts == (0, 0):  # the search's heartbeat, not a part done
            if progress is not None:
                progress(0, 0)
            return
        with lock:
            done[0] += 1
            if progress is not None:
                progress(done[0], len(boxes) + 1)

    def search(guide: np.ndarray | None = None, weight: float = guide_weight) -> np.ndarray:
        return patchmatch.patchmatch_fill(rgb, mask, protect=protect, seed=seed, guide=guide,
                                          guide_weight=weight, progress=step, boxes=boxes)

    def network():  # the network's fill, counted as one part
        base = network_fill()
        step()
        return base

    def joins(base) -> _Joins:
        return _Joins(mask, base, method, SPLIT_SIGMA, BLEND_DEPTH, strokes, join, limit)

    if method == "guided":
        return search(cv2.GaussianBlur(np.asarray(network()), (0, 0), GUIDE_BLUR))
    if search_follows_network(method, strokes is not None):  # "blend" along strokes
        base = network()
        guided = search(_StrokeGuide(base, _scale(mask)), stroke_guide_weight(mask.shape))
        return joins(base).apply(rgb, guided, own=True)
    with ThreadPoolExecutor(1, thread_name_prefix="patchmatch") as pool:
        copied = pool.submit(search)
        try:
            layout = joins(network())  # the network's side of the join, while the search runs
            return layout.apply(rgb, copied.result(), own=True)
        except BaseException:  # Esc, Ctrl-C, an error: the pool must not wait for a long search
            halt.set()
            raise


class _Halted(Exception):
    """Ends the patch search running beside a network fill that raised (nobody takes it)."""


def stroke_guide_weight(shape: tuple[int, ...]) -> float:
    """The weight of the network's fill in the patch search along strokes, for an image of
    ``shape`` (see STROKE_GUIDE_WEIGHT)."""
    (near, far), (small, large) = STROKE_GUIDE_WEIGHT, STROKE_GUIDE_SIDES
    t = min(max((min(shape[:2]) - small) / (large - small), 0.0), 1.0)
    return near + (far - near) * t


class _StrokeGuide:
    """The guide for a search along strokes, made for each of the search's crops as it asks
    for one (``base`` may be a large photo's :class:`~app.inference.predict.PatchedImage`):
    the colour groups of the network's fill and the photo around it (``colour_groups``)."""

    def __init__(self, base, scale: float) -> None:
        self.base, self.scale = base, scale

    def __getitem__(self, crop: tuple[slice, slice]) -> np.ndarray:
        return group_map(np.ascontiguousarray(self.base[crop]), self.scale)


def _low_pass(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; wide ones run on a reduced copy (same low frequencies, a fraction of
    the cost on a 24 MP photo)."""
    if sigma <= 4.0:
        return _blur(image, sigma)
    h, w = image.shape[:2]
    f = sigma / 2.0
    small = cv2.resize(image.astype(np.float32, copy=False), (max(1, round(w / f)), max(1, round(h / f))),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(_blur(small, 2.0), (w, h), interpolation=cv2.INTER_LINEAR)


def gentle_share(hole: np.ndarray, depth: np.ndarray, join: str = JOIN) -> np.ndarray | None:
    """Per hole pixel (``hole``'s True pixels, in order), the share in [0, 1] of the gentle
    join the ``join`` gives it; None where no pixel takes any."""
    if join not in JOINS:
        raise ValueError(f"join must be one of {JOINS}, got {join!r}")
    if join == "stroke":
        return None
    if join == "gentle":
        return np.ones(int(hole.sum()), np.float32)
    share = compactness_share(hole, depth)[hole]
    return share if share.any() else None


def compactness_share(hole: np.ndarray, depth: np.ndarray,
                      bounds: tuple[float, float] = COMPACT) -> np.ndarray:
    """Per pixel, how compact its hole region is, as a share in [0, 1] of the gentle join
    (1 = a compact blob, 0 = a stroke); 0 outside the hole. ``depth`` is
    ``depth_in_hole(hole)``; ``bounds`` the compactness at which a region is wholly compact
    and wholly stroke-like. Scale-free: the same shape scores alike at any resolution."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    share = np.zeros(hole.shape, np.float32)
    lo, hi = bounds
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        region = labels[y : y + h, x : x + w] == i
        k = compactness(area, float(depth[y : y + h, x : x + w][region].max()))
        share[y : y + h, x : x + w][region] = float(np.clip((hi - k) / (hi - lo), 0.0, 1.0))
    return share


class _Layout:
    """What the network's side of :func:`combine` needs, computed while PatchMatch still runs:
    the holes' bounding box (with room for the blur), the network's low frequencies there,
    and how much of the difference each pixel takes. Per-pixel values are kept for the
    hole's pixels only (a 24 MP photo's box is mostly known pixels)."""

    def __init__(self, mask: np.ndarray, base: np.ndarray, method: str, sigma: float, depth: float,
                 strokes: np.ndarray | None = None, join: str = JOIN,
                 limit: float | None = GENTLE_LIMIT, bounds: tuple[int, int, int, int] | None = None) -> None:
        s = _scale(mask)
        self.sigma = max(1.0, sigma * s)
        self.wide_sigma = max(1.0, COMPACT_SIGMA * s)
        if bounds is None:  # every hole: their bounding box with room for the blur
            x, y, bw, bh = cv2.boundingRect(as_uint8(mask))
            pad = _pad(mask, method, sigma)
            bounds = (max(0, y - pad), y + bh + pad, max(0, x - pad), x + bw + pad)
        y0, y1, x0, x1 = bounds
        self.box = (slice(y0, y1), slice(x0, x1))
        self.hole = mask[self.box]
        self.index = np.flatnonzero(self.hole)
        box = base[self.box]
        # only the difference of the two fills' low frequencies is used, and outside the
        # hole both are the photo: blurring their hole pixels alone gives the same difference
        # and keeps every known pixel, protected ones too, out of the arithmetic
        holed = self._hole_only(box)
        self.weight, self.compact, self.base_wide = None, None, None
        self.limit = limit
        if method == "blend":
            deep = depth_in_hole(self.hole)
            self.weight = np.clip(deep[self.hole] / max(1.0, depth * s), 0.0, 1.0)[:, None]
            share = gentle_share(self.hole, deep, join)
            if share is not None:  # the gentle join: a wider low-pass and a capped share
                self.compact = share[:, None]
                self.base_wide = _low_pass(holed, self.wide_sigma)[self.hole]
                self.weight = self.weight * (1.0 - (1.0 - COMPACT_CAP) * self.compact)
        self.base, self.core = None, None
        inside = strokes[self.box] & self.hole if strokes is not None else None
        if inside is not None and inside.any():
            away = cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 3)[self.hole]
            if self.weight is not None:
                near = np.clip(1.0 - away / max(1.0, STROKE_REACH * s), 0.0, 1.0)[:, None]
                self.weight = np.maximum(self.weight, near)
                if self.compact is not None:  # along a stroke the network's finer layout rules
                    self.compact = self.compact * (1.0 - near)
            self.core = np.clip(1.0 - away / max(1.0, STROKE_CORE * s), 0.0, 1.0)[:, None]
            self.base = box[self.hole].astype(np.float32)
        # the finer layout (``sigma``) only where some pixel is not wholly on the gentle join:
        # with the shipped join and no strokes it would be computed to be multiplied by 0
        fine = self.compact is None or bool((self.compact < 1.0).any())
        self.base_low = _low_pass(holed, self.sigma)[self.hole] if fine else None

    def _hole_only(self, box: np.ndarray) -> np.ndarray:
        """The box's pixels with everything outside the hole set to 0, as float32 (one pass;
        the blurs take it without another copy)."""
        return np.multiply(box, self.hole[..., None], dtype=np.float32)

    def _at_hole(self, image: np.ndarray) -> np.ndarray:
        """``image[self.hole]`` (the box's hole pixels, in order) by index: about three times
        faster than a boolean mask, and :meth:`apply` runs after the search, with nothing
        beside it."""
        flat = np.ascontiguousarray(image).reshape(-1, *image.shape[2:])
        return np.take(flat, self.index, axis=0)

    def apply(self, rgb: np.ndarray, copied: np.ndarray, *, own: bool = False) -> np.ndarray:
        """The joined image. ``own``: ``copied`` is the caller's to give away (a fresh
        PatchMatch fill, ``rgb``'s pixels outside the hole), so the join is written into it
        instead of into a copy of ``rgb``: on a 24 MP photo that copy cost 40-80 ms after
        the search, when nothing else runs beside it."""
        filled = self.joined(copied)
        out = copied if own else rgb.copy()
        out[self.box][self.hole] = filled
        return out

    def joined(self, copied: np.ndarray) -> np.ndarray:
        """The box's hole pixels (in order) of the join with the search's fill ``copied``."""
        c = copied[self.box]
        holed = self._hole_only(c)
        # where the network's layout differs from the copy's, finely and broadly
        low = self.base_low - self._at_hole(_low_pass(holed, self.sigma)) if self.base_low is not None else 0.0
        if self.compact is not None:
            wide = self.base_wide - self._at_hole(_low_pass(holed, self.wide_sigma))
            low = low * (1.0 - self.compact) + wide * self.compact
        if self.weight is not None:
            low *= self.weight
        if self.limit is not None and self.compact is not None:
            # the gentle join's share of each pixel moves it at most ``limit`` grey levels
            length = np.sqrt(np.einsum("ij,ij->i", low, low))[:, None]
            shrink = np.minimum(1.0, self.limit / np.maximum(length, 1e-6, out=length), out=length)
            low *= 1.0 - self.compact * (1.0 - shrink)
        filled = np.clip(self._at_hole(c).astype(np.float32) + low, 0, 255)
        if self.core is not None:  # on a stroke: the network's own edge
            filled = filled * (1.0 - self.core) + self.base * self.core
        return filled.round().astype(np.uint8)


def _pad(mask: np.ndarray, method: str, sigma: float) -> int:
    """Room around the holes for the join's widest blur (three of its sigmas)."""
    s = _scale(mask)
    widest = COMPACT_SIGMA if method == "blend" else sigma
    return int(3 * max(1.0, widest * s)) + 2


class _Joins:
    """One :class:`_Layout` per group of holes whose boxes (with room for the blur) do not
    meet: holes spread over a 24 MP photo cost the join their boxes, not the whole photo.
    The low frequencies near a hole need only the pixels within its box, so each group
    joins as it would alone."""

    def __init__(self, mask: np.ndarray, base: np.ndarray, method: str, sigma: float, depth: float,
                 strokes: np.ndarray | None = None, join: str = JOIN,
                 limit: float | None = GENTLE_LIMIT) -> None:
        pad = _pad(mask, method, sigma)
        groups = patchmatch.crop_boxes(mask, min_margin=pad, max_margin=pad)
        if len(groups) <= 1:  # one group: the holes' bounding box, as always
            groups = [None]
        self.layouts = [_Layout(mask, base, method, sigma, depth, strokes, join, limit, bounds) for bounds in groups]

    def apply(self, rgb: np.ndarray, copied: np.ndarray, *, own: bool = False) -> np.ndarray:
        """As :meth:`_Layout.apply`. The groups' boxes do not overlap, so writing one group's
        join into ``copied`` (``own``) leaves what the others read as it was."""
        out = copied if own else rgb.copy()
        for layout in self.layouts:
            out[layout.box][layout.hole] = layout.joined(copied)
        return out


def combine(rgb: np.ndarray, mask: np.ndarray, base: np.ndarray, copied: np.ndarray, method: str = "blend", *,
            sigma: float = SPLIT_SIGMA, depth: float = BLEND_DEPTH, strokes: np.ndarray | None = None,
            join: str = JOIN, limit: float | None = GENTLE_LIMIT) -> np.ndarray:
    """Join the network's fill ``base`` and a free PatchMatch fill ``copied`` ("split" or
    "blend"; ``sigma`` and ``depth`` in px at REFERENCE_SIDE); the composited uint8 image.
    ``join`` ("blend" only): which hole regions take the gentle join (JOINS); ``limit``: how
    far in grey levels the gentle join may move a pixel (None: no limit).
    Only the holes' bounding box (with room for the blur) is computed, so a small hole in
    a 24 MP photo costs what a small image does."""
    if method not in ("split", "blend"):
        raise ValueError(f"combine method must be 'split' or 'blend', got {method!r}")
    mask = as_bool(mask)
    if not mask.any():
        return rgb.copy()
    return _Joins(mask, base, method, sigma, depth, strokes, join, limit).apply(rgb, copied)
