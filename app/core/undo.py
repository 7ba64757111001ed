"""Paint diffs for undo: bounding box, which pixels changed, and their old and new values.

A diff never copies a whole layer: a brush stroke on a 6000 x 4000 photo stores only the
pixels it changed (napari's ``_MaskedPaintAtom`` does the same). ``StrokeRecorder`` backs up
256-pixel tiles the first time a drag touches them, so one drag becomes one diff however
many mouse events it took.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.brush import Box, union_box

TILE = 256


@dataclass(frozen=True)
class PaintDiff:
    layer: str  # "image", "mask" or "sketch"
    box: Box  # (x0, y0, x1, y1)
    changed: np.ndarray  # np.packbits of the bool (h, w) change map
    old: np.ndarray  # values of the changed pixels before, (N,) or (N, C)
    new: np.ndarray  # and after

    @property
    def shape(self) -> tuple[int, int]:
        return (self.box[3] - self.box[1], self.box[2] - self.box[0])

    @property
    def nbytes(self) -> int:
        return int(self.changed.nbytes + self.old.nbytes + self.new.nbytes)

    def change_map(self) -> np.ndarray:
        h, w = self.shape
        return np.unpackbits(self.changed, count=h * w).astype(bool).reshape(h, w)

    def apply(self, array: np.ndarray, *, undo: bool) -> None:
        """Write the old (``undo``) or new values back into ``array`` in place."""
        x0, y0, x1, y1 = self.box
        array[y0:y1, x0:x1][self.change_map()] = self.old if undo else self.new


def diff_region(layer: str, before: np.ndarray, after: np.ndarray, box: Box) -> PaintDiff | None:
    """Diff two equally shaped patches that sit at ``box``; None when nothing changed."""
    neq = before != after
    if neq.ndim == 3:
        neq = neq.any(axis=2)
    if not neq.any():
        return None
    # Shrink to the pixels that really changed so the packed map stays small.
    rows = np.flatnonzero(neq.any(axis=1))
    cols = np.flatnonzero(neq.any(axis=0))
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    neq = neq[r0:r1, c0:c1]
    tight = (box[0] + c0, box[1] + r0, box[0] + c1, box[1] + r1)
    return PaintDiff(
        layer=layer,
        box=tight,
        changed=np.packbits(neq),
        old=before[r0:r1, c0:c1][neq].copy(),
        new=after[r0:r1, c0:c1][neq].copy(),
    )


def diff_arrays(layer: str, before: np.ndarray, after: np.ndarray, within: Box | None = None) -> PaintDiff | None:
    """Diff two whole layers (a fill's result against the image it replaced). ``within``:
    the box outside which the caller knows the two are equal (a fill's hole), so a 24 MP
    photo is compared there only."""
    h, w = before.shape[:2]
    x0, y0, x1, y1 = within if within is not None else (0, 0, w, h)
    return diff_region(layer, before[y0:y1, x0:x1], after[y0:y1, x0:x1], (x0, y0, x1, y1))


class StrokeRecorder:
    """Collects the old values of everything one drag touches, then yields one diff.

    Call ``touch(box)`` *before* changing pixels inside ``box``.
    """

    def __init__(self, layer: str, array: np.ndarray, tile: int = TILE) -> None:
        self.layer = layer
        self.array = array
        self.tile = tile
        self._saved: dict[tuple[int, int], np.ndarray] = {}
        self._box: Box | None = None

    def touch(self, box: Box) -> None:
        t = self.tile
        h, w = self.array.shape[:2]
        for ty in range(box[1] // t, (box[3] - 1) // t + 1):
            for tx in range(box[0] // t, (box[2] - 1) // t + 1):
                if (ty, tx) not in self._saved:
                    tb = (tx * t, ty * t, min(w, (tx + 1) * t), min(h, (ty + 1) * t))
                    self._saved[(ty, tx)] = self.array[tb[1] : tb[3], tb[0] : tb[2]].copy()
                    self._box = union_box(self._box, tb)

    def finish(self) -> PaintDiff | None:
        if self._box is None:
            return None
        x0, y0, x1, y1 = self._box
        after = self.array[y0:y1, x0:x1]
        before = after.copy()
        t = self.tile
        for (ty, tx), old in self._saved.items():
            oy, ox = ty * t - y0, tx * t - x0
            before[oy : oy + old.shape[0], ox : ox + old.shape[1]] = old
        self._saved.clear()
        return diff_region(self.layer, before, after, self._box)
