"""PatchMatch fills (Barnes et al. 2009) through the ``pypatchmatch`` library (MIT).

pypatchmatch ships a prebuilt native library that it loads with ``ctypes``; nothing is
compiled or downloaded at import. Where the library cannot load (no wheel for the
platform, Python < 3.11), :func:`unavailable_reason` says so in one line and every other
engine keeps working.

The native library keeps its random seed in a global that each fill reads as it starts.
Fills with the same seed may run at once (the library releases the GIL and its search keeps
its state per call: the outputs are the same as one after another); a fill with another
seed waits until none is running (:class:`_SeedGate`).

Large photos are filled region by region: each hole gets a crop with context around it
(:func:`crop_boxes`), so a 24 MP photo with a small hole never goes through the search
whole. The crops do not overlap, so separate holes are searched at once, one per core
(:func:`search_threads`). ``protect`` (True = never copy from here) becomes the library's
global mask, which takes those pixels out of the search; they stay as they are.

A crop with a large hole is searched in a child process (:mod:`.search_process`), which a
cancel stops at once: ``progress(0, 0)`` is called while such a search runs, and a caller
that raises there (the editor's Esc) ends it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager

import cv2
import numpy as np

from app.core.maskops import as_bool, as_uint8
from app.core.names import MAX_SEED

from . import search_process
from .jobs import usable_cores

log = logging.getLogger(__name__)

PATCH_SIZE = 3  # radius: 7 x 7 patches; the fastest and, measured, as good as larger ones
GUIDE_MAX = 0.49  # the library's guide distance wraps above 0.5
MAX_SEARCH_THREADS = 4  # crops searched at once, at most (and never more than the cores)
_STATE: dict[str, object] = {}


def _library():
    """The imported ``patchmatch`` module, or None; imported once, quietly."""
    if "module" not in _STATE:
        logger = logging.getLogger("patchmatch")
        level = logger.level
        logger.setLevel(logging.ERROR)  # its own warning would duplicate our one line
        try:
            import patchmatch  # type: ignore[import-not-found]

            _STATE["module"] = patchmatch if patchmatch.patchmatch_available else None
            _STATE["why"] = None if patchmatch.patchmatch_available else "its native library did not load"
        except (ImportError, OSError, AttributeError) as exc:  # no package, or a broken .so
            _STATE["module"] = None
            _STATE["why"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
        finally:
            logger.setLevel(level)
    return _STATE["module"]


class _SeedGate:
    """Lets fills with one seed into the library together; another seed waits its turn.

    The library reads its global seed when a fill starts, so the seed may only change
    while no fill is running. Turns are taken in the order of arrival: a fill may join the
    running ones only if no fill with another seed came before it and still waits, so a
    stream of one seed (a batch filling photos at once) cannot keep another (the editor's
    next variation) waiting for good.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._seed: int | None = None
        self._running = 0
        self._tickets = 0
        self._waiting: dict[int, int] = {}  # ticket -> seed, in the order of arrival

    def _may_enter(self, ticket: int, seed: int) -> bool:
        if self._running and self._seed != seed:
            return False
        return all(s == seed for t, s in self._waiting.items() if t < ticket)

    @contextmanager
    def hold(self, lib, seed: int) -> Iterator[None]:
        with self._cond:
            ticket = self._tickets
            self._tickets += 1
            self._waiting[ticket] = seed
            while not self._may_enter(ticket, seed):
                self._cond.wait()
            del self._waiting[ticket]
            if not self._running:
                lib.set_random_seed(seed)
                self._seed = seed
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()


_GATE = _SeedGate()


class _Stopped(Exception):
    """Stops the other crops' searches once one crop's search or the caller's heartbeat
    raised (the caller sees that exception, not this one)."""


def search_threads(regions: int) -> int:
    """How many crops to search at once: one per core this process may use, at most
    MAX_SEARCH_THREADS, and no more than there are ``regions``."""
    return max(1, min(regions, usable_cores(), MAX_SEARCH_THREADS))


def unavailable_reason() -> str | None:
    """None when PatchMatch can run here, else a one-line reason with the fix."""
    if _library() is not None:
        return None
    return (f"PatchMatch is not available ({_STATE.get('why')}); install it with "
            "'pip install pypatchmatch>=2.2' (needs Python 3.11 or newer)")


def crop_boxes(mask: np.ndarray, *, min_margin: int = 48, max_margin: int = 384) -> list[tuple[int, int, int, int]]:
    """Boxes (y0, y1, x0, x1) that each hold one hole region and context around it.

    The context is proportional to the region (half its larger side, within
    ``min_margin``..``max_margin``): a patch search needs sources about as large as what it
    fills, but copying from far across a 24 MP photo gains nothing and costs time. Regions
    whose boxes overlap are merged, so every hole pixel is filled exactly once.
    """
    h, w = mask.shape
    m8 = as_uint8(mask)
    # label the holes inside their bounding box only: a small hole in a 24 MP photo
    # should not cost a pass over 24 million pixels
    bx, by, bbw, bbh = cv2.boundingRect(m8)
    if bbw == 0 or bbh == 0:
        return []
    count, _, stats, _ = cv2.connectedComponentsWithStats(m8[by : by + bbh, bx : bx + bbw], connectivity=8)
    boxes = []
    for i in range(1, count):
        x, y, bw, bh, _ = stats[i]
        x, y = x + bx, y + by
        margin = int(np.clip(max(bw, bh) // 2, min_margin, max_margin))
        boxes.append([max(0, y - margin), min(h, y + bh + margin), max(0, x - margin), min(w, x + bw + margin)])
    merged = True
    while merged:  # merge overlapping boxes until none overlap
        merged = False
        out: list[list[int]] = []
        for b in boxes:
            for o in out:
                if b[0] < o[1] and o[0] < b[1] and b[2] < o[3] and o[2] < b[3]:
                    o[:] = [min(o[0], b[0]), max(o[1], b[1]), min(o[2], b[2]), max(o[3], b[3])]
                    merged = True
                    break
            else:
                out.append(b)
        boxes = out
    return [tuple(b) for b in boxes]  # type: ignore[misc]


def _guide_map(guide: np.ndarray) -> np.ndarray:
    """The library's regularity map from an RGB guide: Lab chroma (a, b) scaled into
    [0, GUIDE_MAX) (its distance wraps above 0.5), as an HxWx3 float32. The library compares
    only the first two channels, at each patch's centre: the lightness in the third is not
    used (a boundary of light against dark of one hue is not steered by the guide)."""
    lab = cv2.cvtColor(guide, cv2.COLOR_RGB2LAB).astype(np.float32) / 255.0
    return np.ascontiguousarray(lab[..., [1, 2, 0]] * GUIDE_MAX)


def _fill_crop(rgb: np.ndarray, mask: np.ndarray, protect: np.ndarray | None, seed: int, patch_size: int,
               guide: np.ndarray | None, guide_weight: float, poll: Callable[[], None] | None = None) -> np.ndarray:
    lib = _library()
    if lib is None:
        raise RuntimeError(unavailable_reason())
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    hole = mask.astype(np.uint8)
    shield = None
    if protect is not None and protect.any():
        # protected pixels must neither be filled nor copied from; a protected hole pixel
        # is still a hole, so the shield leaves the hole out
        shield = (protect & ~mask).astype(np.uint8)
        if not shield.any():
            shield = None
    ijmap = None
    if guide is not None:
        ijmap = np.ascontiguousarray(guide if guide.dtype == np.float32 else _guide_map(guide))
    seed = int(seed) % (MAX_SEED + 1)
    if search_process.wanted(int(np.count_nonzero(hole))):  # a long search: one that a cancel can stop
        try:
            out = search_process.search(bgr, hole, shield=shield, guide=ijmap, seed=seed, patch_size=patch_size,
                                        guide_weight=guide_weight, poll=poll)
            return np.asarray(out)[..., ::-1]
        except search_process.NoChild as exc:
            log.info("patch search in this process instead of a child: %s", exc)  # as a smaller hole is
    with _GATE.hold(lib, seed):
        if ijmap is None:
            out = lib.inpaint(bgr, hole, global_mask=shield, patch_size=patch_size)
        else:
            out = lib.inpaint_regularity(bgr, hole, ijmap, global_mask=shield,
                                         patch_size=patch_size, guide_weight=guide_weight)
    return np.asarray(out)[..., ::-1]


def patchmatch_fill(
    rgb: np.ndarray,
    mask: np.ndarray,
    *,
    protect: np.ndarray | None = None,
    seed: int = 0,
    patch_size: int = PATCH_SIZE,
    guide: np.ndarray | None = None,
    guide_weight: float = 1.0,
    progress=None,
    boxes: list[tuple[int, int, int, int]] | None = None,
) -> np.ndarray:
    """Fill ``mask`` (bool, True = hole) of ``rgb`` (uint8 HxWx3) by PatchMatch.

    ``guide`` steers the search: a source patch must also match the guide where the hole is
    ("guided PatchMatch"). Either uint8 RGB (e.g. a network's fill), whose chroma the search
    compares (:func:`_guide_map`), or a float32 HxWx3 map already in the library's units,
    [0, GUIDE_MAX] (``colour_groups.group_map``); anything that gives a crop's pixels when
    indexed with two slices, so a map can be made per crop when it is asked for. ``protect``
    (bool) marks pixels that may not be copied from. Pixels outside the hole stay exact.
    ``progress(done, total)`` is called after each hole region, and ``progress(0, 0)``
    every POLL_S seconds while a region's search runs in a child process, from the calling
    thread; a caller that raises there stops the searches (the child processes are killed);
    ``boxes`` are the regions' crops when the caller has them already (:func:`crop_boxes`).
    Separate regions are searched at once (:func:`search_threads`); the result is the same
    as one after another, since the crops do not overlap.
    """
    mask = as_bool(mask)
    out = rgb.copy()
    if not mask.any():
        return out
    boxes = crop_boxes(mask) if boxes is None else boxes

    stop = threading.Event()

    def stopped() -> None:  # polled by a search in a child process that runs in a pool thread
        if stop.is_set():
            raise _Stopped

    def fill(box: tuple[int, int, int, int], poll: Callable[[], None] | None) -> None:
        crop = (slice(box[0], box[1]), slice(box[2], box[3]))
        sub_protect = protect[crop] if protect is not None else None
        sub_guide = guide[crop] if guide is not None else None
        filled = _fill_crop(rgb[crop], mask[crop], sub_protect, seed, patch_size, sub_guide, guide_weight, poll)
        np.copyto(out[crop], filled, where=mask[crop][..., None])

    heartbeat = (lambda: progress(0, 0)) if progress is not None else None
    threads = search_threads(len(boxes))
    if threads == 1:
        for n, box in enumerate(boxes, 1):
            fill(box, heartbeat)
            if progress is not None:
                progress(n, len(boxes))
        return out
    with ThreadPoolExecutor(threads, thread_name_prefix="patchmatch-crop") as pool:
        pending = {pool.submit(fill, box, stopped) for box in boxes}
        n = 0
        try:
            while pending:
                done, pending = wait(pending, timeout=search_process.POLL_S, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
                    n += 1
                    if progress is not None:
                        progress(n, len(boxes))
                if not done and heartbeat is not None:
                    heartbeat()  # a caller that raises here stops the searches in child processes
        except BaseException:
            stop.set()
            for future in pending:
                future.cancel()
            raise
    return out
