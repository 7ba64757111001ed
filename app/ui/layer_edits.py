"""Whole-layer edits of the document, each one undo step: clear, grow, shrink, invert,
restore the last fill's mask; and undo/redo that say what they did."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.ui.commands import edits_pixels, replace_layers


class LayerEdits:
    def __init__(self, window) -> None:
        self.w = window

    def _push(self, command) -> None:
        if command is not None:
            self.w.undo_stack.push(command)

    def step_history(self, undo: bool) -> None:
        """Undo or redo one step and say which (a pick of a variation barely shows)."""
        stack = self.w.undo_stack
        text = stack.undoText() if undo else stack.redoText()
        if not (stack.canUndo() if undo else stack.canRedo()):
            return
        if self._stops_fill(undo):
            # the photo would change under the running fill, which would then be dropped:
            # the first press stops the fill instead, as Esc does, and the photo stays
            self.w.stop_work()  # the fill, even while a stroke is being drawn
            key = "Ctrl+Z" if undo else "Ctrl+Shift+Z"
            again = f"{key} again {'undoes' if undo else 'redoes'}: {text}"
            self.w.statusBar().showMessage(f"Fill cancelled; {again}", 6000)
            self.w.after_stop = again if self.w.inference.stopping else None  # said again once it has
            return
        stack.undo() if undo else stack.redo()
        self.w.statusBar().showMessage(f"{'Undid' if undo else 'Redid'}: {text}", 4000)

    def _stops_fill(self, undo: bool) -> bool:
        """Whether this undo or redo would reach what a running fill started from: an undo of
        a step made before it started (what was painted since undoes as usual), or a redo
        that changes the photo."""
        fills = self.w.inference.fills()
        if not fills:
            return False
        stack = self.w.undo_stack
        if not undo:
            return edits_pixels(stack.command(stack.index()))
        # the step this undo takes back is the top one as the fill started ("undo_top"):
        # undo stops there while the fill runs, so it never gets below it; a top step that
        # the undo limit dropped since is never met, as every step left was painted later
        back = stack.command(stack.index() - 1)
        return back is not None and any(r.extra.get("undo_top") is back for r in fills)

    def fill_layers(self, text: str, **values: object) -> None:
        """Set whole layers to one value (Clear mask, Clear sketch)."""
        doc = self.w.doc
        if doc is not None:
            self._push(replace_layers(doc, text, **{n: np.full_like(doc.layer(n), v) for n, v in values.items()}))

    def refine_mask(self, text: str, op: Callable[[np.ndarray, int], np.ndarray], px: int) -> None:
        """Grow, shrink or invert the whole mask."""
        if self.w.doc is None:
            return
        if px and not self.w.doc.mask.any():  # grow or shrink: nothing to do, and no undo step
            self.w.statusBar().showMessage(f"The mask is empty: nothing to {text.split()[0].lower()}", 3000)
            return
        self._push(replace_layers(self.w.doc, text, mask=op(self.w.doc.mask, px)))
        self.w.statusBar().showMessage(f"{text}" + (f" by {px} px" if px else ""), 3000)

    def restore_last_mask(self) -> None:
        doc = self.w.doc
        if doc is not None and doc.last_mask is not None:
            self._push(replace_layers(doc, "Restore last mask", mask=doc.mask | doc.last_mask,
                                      sketch=np.maximum(doc.sketch, doc.last_sketch)))
            self.w.statusBar().showMessage("Restored the last fill's mask and sketch", 4000)
