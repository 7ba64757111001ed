"""QUndoCommands: they change the document (which notifies its views), never a widget.

Each command wraps numpy ``PaintDiff``s from app/core/undo.py; a brush drag is already
painted when its command is pushed, so the first ``redo`` is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtGui import QUndoCommand

from app.core.brush import Box
from app.core.document import Document
from app.core.names import engine_label
from app.core.undo import PaintDiff, diff_arrays, diff_region


class DiffCommand(QUndoCommand):
    def __init__(self, doc: Document, diffs: Sequence[PaintDiff], text: str, *, applied: bool) -> None:
        super().__init__(text)
        self.doc = doc
        self.diffs = list(diffs)
        self._skip_redo = applied

        self._edits_image = any(d.layer == "image" for d in self.diffs)

    def redo(self) -> None:
        if self._edits_image:
            self.doc.fills += 1
        if self._skip_redo:
            self._skip_redo = False
            return
        for diff in self.diffs:
            self.doc.apply_diff(diff, undo=False)

    def undo(self) -> None:
        if self._edits_image:
            self.doc.fills -= 1
        for diff in reversed(self.diffs):
            self.doc.apply_diff(diff, undo=True)


def edits_pixels(command) -> bool:
    """A command that changes the photo (its pixels or which are opaque); one of unknown
    kind counts as one."""
    diffs = getattr(command, "diffs", None)
    return diffs is None or any(d.layer in ("image", "opaque") for d in diffs)


def replace_layers(doc: Document, text: str, **layers: np.ndarray) -> DiffCommand | None:
    """A not-yet-applied command that sets whole layers (import, restore last mask)."""
    diffs = [d for name, new in layers.items() if (d := diff_arrays(name, doc.layer(name), new)) is not None]
    return DiffCommand(doc, diffs, text, applied=False) if diffs else None


def _pack(layer: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    return np.packbits(layer > 0), layer.shape  # both layers are binary: 1 bit a pixel


def _unpack(packed: tuple[np.ndarray, tuple[int, int]]) -> np.ndarray:
    bits, (h, w) = packed
    return np.unpackbits(bits, count=h * w).astype(bool).reshape(h, w)


class FillCommand(DiffCommand):
    """The fill result becomes the image and the filled hole (and the sketch inside it) is
    cleared, in one undo step; strokes drawn while the fill ran stay. The filled mask and
    sketch are kept, packed to a bit a pixel so sixty fills of a 24 MP photo stay small,
    for "Restore last mask" and the attention viewer."""

    def __init__(self, doc: Document, result: np.ndarray, filled_mask: np.ndarray,
                 filled_sketch: np.ndarray, engine: str, within: Box | None = None) -> None:
        """``within``: the box of the hole the engine filled (its feather ring included),
        outside which ``result`` is the photo: the new layers are made and compared there
        only (a 24 MP photo is not gone over four times on the GUI thread)."""
        box = within if within is not None else (0, 0, doc.width, doc.height)
        part = (slice(box[1], box[3]), slice(box[0], box[2]))
        filled = filled_mask[part]

        def change(layer: str, new: np.ndarray) -> PaintDiff | None:
            return diff_region(layer, doc.layer(layer)[part], new, box)

        diffs = [d for d in (
            change("image", result[part]),
            change("mask", doc.mask[part] & ~filled),
            change("sketch", np.where(filled, 0, doc.sketch[part]).astype(np.uint8)),
            # in a photo with transparency the filled hole becomes opaque: the fill shows
            change("opaque", doc.opaque[part] | filled) if doc.has_alpha() else None,
        ) if d is not None]
        super().__init__(doc, diffs, f"Fill ({engine_label(engine)})", applied=False)
        self._mask = _pack(filled_mask)
        self._sketch = _pack(filled_sketch)
        self._previous: tuple | None = None  # the last fill's layers before this one, packed

    def redo(self) -> None:
        super().redo()
        doc = self.doc
        if doc.last_mask is not None and doc.last_sketch is not None:
            self._previous = (_pack(doc.last_mask), _pack(doc.last_sketch))
        doc.last_mask = _unpack(self._mask)
        doc.last_sketch = _unpack(self._sketch).astype(np.uint8) * 255

    def undo(self) -> None:
        super().undo()
        prev, self._previous = self._previous, None
        self.doc.last_mask = _unpack(prev[0]) if prev else None
        self.doc.last_sketch = _unpack(prev[1]).astype(np.uint8) * 255 if prev else None
