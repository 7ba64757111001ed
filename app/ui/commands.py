"""QUndoCommands: they change the document (which notifies its views), never a widget.

Each command wraps numpy ``PaintDiff``s from app/core/undo.py; a brush drag is already
painted when its command is pushed, so the first ``redo`` is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtGui import QUndoCommand

from app.core.document import Document
from app.core.undo import PaintDiff, diff_arrays


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


def replace_layers(doc: Document, text: str, **layers: np.ndarray) -> DiffCommand | None:
    """A not-yet-applied command that sets whole layers (import, restore last mask)."""
    diffs = [d for name, new in layers.items() if (d := diff_arrays(name, doc.layer(name), new)) is not None]
    return DiffCommand(doc, diffs, text, applied=False) if diffs else None


class FillCommand(DiffCommand):
    """The fill result becomes the image and the filled hole (and the sketch inside it) is
    cleared, in one undo step; strokes drawn while the fill ran stay. The filled mask and
    sketch are remembered for "Restore last mask" and the attention viewer."""

    def __init__(self, doc: Document, result: np.ndarray, filled_mask: np.ndarray,
                 filled_sketch: np.ndarray, engine: str) -> None:
        diffs = [d for d in (
            diff_arrays("image", doc.image, result),
            diff_arrays("mask", doc.mask, doc.mask & ~filled_mask),
            diff_arrays("sketch", doc.sketch, np.where(filled_mask, 0, doc.sketch).astype(np.uint8)),
        ) if d is not None]
        super().__init__(doc, diffs, f"Fill ({engine})", applied=False)
        self.mask = filled_mask
        self.sketch = filled_sketch
        self._previous: tuple[np.ndarray | None, np.ndarray | None] = (None, None)

    def redo(self) -> None:
        super().redo()
        self._previous = (self.doc.last_mask, self.doc.last_sketch)
        self.doc.last_mask, self.doc.last_sketch = self.mask, self.sketch

    def undo(self) -> None:
        super().undo()
        self.doc.last_mask, self.doc.last_sketch = self._previous
