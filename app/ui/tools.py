"""Turns image-space pointer input into document edits, one undo step per drag.

No widget here: the canvas converts widget coordinates to image pixels once and calls
``press`` / ``move`` / ``release``; this object paints through the document and pushes a
``DiffCommand`` when the drag ends.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from app.core import brush
from app.core.brush import Point
from app.core.document import Document
from app.core.names import stroke_width_for
from app.core.undo import StrokeRecorder
from app.ui.commands import DiffCommand
from app.ui.selector import ObjectSelector

TOOLS = ("mask", "sketch", "eraser", "rect", "lasso", "object", "protect")
TOOL_TEXT = {"mask": "Mask brush", "sketch": "Sketch pen", "eraser": "Eraser",
             "rect": "Rectangle mask", "lasso": "Lasso mask", "object": "Object selection",
             "protect": "Protect brush"}
BRUSH_LAYER = {"mask": "mask", "protect": "protect"}  # brushes and the layer they paint
CLICK_PX = 5  # an object or rectangle drag shorter than this (widget px) is a click
MIN_SIZE, MAX_SIZE = 1, 2000
BRUSH_STEP = 1.15  # [ and ] divide and multiply the brush size by this


def _is_click(a: Point, b: Point, click_px: float) -> bool:
    return abs(a[0] - b[0]) < click_px and abs(a[1] - b[1]) < click_px


class ToolController(QObject):
    changed = Signal()  # tool, size or active layer changed
    stroke_finished = Signal()  # an edit was committed (autosave listens)
    preview_changed = Signal()  # rectangle / lasso outline moved
    selection_empty = Signal()  # the object tool found nothing in the box
    selection_done = Signal(int, bool)  # the object tool's pixels, added (True) or taken from the mask
    painting = Signal(str)  # a press starts an edit of this layer ("mask", "sketch" or "protect")

    def __init__(self, undo_stack: QUndoStack, brush_size: int, hole_margin: int) -> None:
        super().__init__()
        self.undo_stack = undo_stack
        self.doc: Document | None = None
        self.tool = "mask"
        self.active_layer = "mask"  # what the eraser erases: "mask", "sketch" or "protect"
        self.brush_size = brush_size
        self.hole_margin = hole_margin  # extra hole around sketch strokes drawn outside it
        self.subtract = False
        self._recorders: dict[str, StrokeRecorder] = {}
        self._last: Point | None = None
        self.anchor: Point | None = None  # rectangle first corner
        self.points: list[Point] = []  # rectangle second corner / lasso path
        self.selector = ObjectSelector(self)  # the object tool's GrabCut, off the GUI thread
        self.selector.finished.connect(self._object_selected)

    # -- state ----------------------------------------------------------------------------
    def set_document(self, doc: Document | None) -> None:
        self.cancel()
        self.doc = doc

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        self.cancel()
        if tool != self.tool:
            self.selector.cancel()  # an object selection still running is not wanted by another tool
        self.tool = tool
        if tool in ("mask", "rect", "lasso", "object"):
            self.active_layer = "mask"
        elif tool in ("sketch", "protect"):
            self.active_layer = tool
        self.changed.emit()

    def set_active_layer(self, layer: str) -> None:
        self.active_layer = layer
        self.changed.emit()

    def set_brush_size(self, size: int) -> None:
        self.brush_size = max(MIN_SIZE, min(MAX_SIZE, int(size)))
        self.changed.emit()

    def step_brush_size(self, up: bool) -> None:
        # Proportional steps (BRUSH_STEP): fine control for small brushes, quick for large
        # ones; a step down divides as a step up multiplies, so ] then [ gives back the size
        size = self.brush_size
        self.set_brush_size(max(size + 1, round(size * BRUSH_STEP)) if up
                            else min(size - 1, round(size / BRUSH_STEP)))

    def sketch_width(self) -> int:
        return int(stroke_width_for(self.doc.size_hw)) if self.doc is not None else 1

    def outline_diameter(self) -> float | None:
        """Brush footprint in image pixels, or None for tools without one."""
        if self.tool == "sketch":
            return float(self.sketch_width())
        if self.tool in ("mask", "eraser", "protect"):
            return float(self.brush_size)
        return None

    @property
    def dragging(self) -> bool:
        return bool(self._recorders) or self.anchor is not None or bool(self.points)

    # -- input ----------------------------------------------------------------------------
    def press(self, pt: Point, subtract: bool = False) -> None:
        if self.doc is None:
            return
        self.subtract = subtract
        self.painting.emit(self.layer_edited())
        if self.tool in ("rect", "object"):
            self.anchor, self.points = pt, [pt]
        elif self.tool == "lasso":
            self.points = [pt]
        else:
            layers = ["sketch", "mask"] if self.tool == "sketch" else (
                [BRUSH_LAYER[self.tool]] if self.tool in BRUSH_LAYER else [self.active_layer])
            self._recorders = {name: StrokeRecorder(name, self.doc.layer(name)) for name in layers}
            self._last = pt
            self._segment(pt, pt)
        self.preview_changed.emit()

    def layer_edited(self) -> str:
        """The layer the current tool edits where the user looks (a sketch stroke also grows
        the hole, which is shown when it does)."""
        if self.tool == "eraser":
            return self.active_layer
        return self.tool if self.tool in ("sketch", "protect") else "mask"

    def move(self, pt: Point) -> None:
        if self.doc is None:
            return
        if self._recorders and self._last is not None:
            self._segment(self._last, pt)
            self._last = pt
        elif self.tool in ("rect", "object") and self.anchor is not None:
            self.points = [pt]
            self.preview_changed.emit()
        elif self.tool == "lasso" and self.points:
            self.points.append(pt)
            self.preview_changed.emit()

    def release(self, pt: Point, click_px: float | None = None) -> None:
        """End a drag; ``click_px`` is CLICK_PX widget pixels in image pixels (the canvas
        knows the zoom) so that a short object-tool drag counts as a click and a rectangle
        that short draws nothing. None (a caller without a view): the object tool takes
        CLICK_PX image pixels and every rectangle is drawn."""
        doc = self.doc
        if doc is None:
            return
        value = not self.subtract
        if self.tool == "object" and self.anchor is not None:
            self._select_object(self.anchor, pt, value, CLICK_PX if click_px is None else click_px)
        elif self.tool == "rect" and self.anchor is not None:
            if click_px is None or not _is_click(self.anchor, pt, click_px):  # a click: no empty undo step
                self._shape(brush.rectangle(self.anchor, pt, doc.size_wh), value, "Rectangle mask")
        elif self.tool == "lasso" and self.points:
            patch = brush.polygon(self.points + [pt], doc.size_wh)
            self._shape(patch, value, "Lasso mask")
        elif self._recorders:
            self.move(pt)
            diffs = [d for r in self._recorders.values() if (d := r.finish()) is not None]
            self._recorders = {}
            if diffs:
                self.undo_stack.push(DiffCommand(doc, diffs, TOOL_TEXT[self.tool], applied=True))
                self.stroke_finished.emit()
        self.anchor, self.points, self._last = None, [], None
        self.preview_changed.emit()

    def cancel(self) -> None:
        """Abandon a rectangle / lasso; a brush drag already painted is committed."""
        if self._recorders and self.doc is not None:
            diffs = [d for r in self._recorders.values() if (d := r.finish()) is not None]
            if diffs:
                self.undo_stack.push(DiffCommand(self.doc, diffs, TOOL_TEXT[self.tool], applied=True))
        self._recorders = {}
        self.anchor, self.points, self._last = None, [], None
        self.preview_changed.emit()

    # -- painting -------------------------------------------------------------------------
    def _segment(self, a: Point, b: Point) -> None:
        doc = self.doc
        assert doc is not None
        if self.tool == "sketch":
            width = self.sketch_width()
            # The hole grows to cover the stroke (plus a margin) so the network sees the
            # stroke where it will paint; inside the hole this changes nothing.
            self._paint("mask", brush.stroke([a, b], width + 2 * self.hole_margin, doc.size_wh), True)
            self._paint("sketch", brush.stroke([a, b], width, doc.size_wh), 255)
        else:
            # Mask and protect brushes paint their layer; the eraser clears the active one.
            layer = BRUSH_LAYER.get(self.tool, self.active_layer)
            value: bool | int = self.tool in BRUSH_LAYER if layer != "sketch" else 0
            self._paint(layer, brush.stroke([a, b], self.brush_size, doc.size_wh), value)

    def _paint(self, layer: str, patch: brush.Patch | None, value: bool | int) -> None:
        if patch is None or self.doc is None:
            return
        self._recorders[layer].touch(patch.box)
        self.doc.paint(layer, patch, value)

    def _select_object(self, a: Point, b: Point, value: bool, click_px: float) -> None:
        doc = self.doc
        assert doc is not None
        if _is_click(a, b, click_px):
            self.selector.start(doc, None, b, value)
        else:
            box = (int(min(a[0], b[0])), int(min(a[1], b[1])), int(max(a[0], b[0])) + 2, int(max(a[1], b[1])) + 2)
            self.selector.start(doc, box, None, value)

    def _object_selected(self, result: tuple) -> None:
        doc, patch, value, ticket = result
        if doc is not self.doc or not self.selector.wanted(ticket):
            return  # another photo was opened meanwhile, or the selection was cancelled
        if patch is None:
            self.selection_empty.emit()
            return
        self._shape(patch, value, TOOL_TEXT["object"])
        self.selection_done.emit(int(np.count_nonzero(patch.area)), bool(value))

    def _shape(self, patch: brush.Patch | None, value: bool, text: str) -> None:
        doc = self.doc
        if patch is None or doc is None:
            return
        rec = StrokeRecorder("mask", doc.mask)
        rec.touch(patch.box)
        doc.paint("mask", patch, value)
        diff = rec.finish()
        if diff is not None:
            self.undo_stack.push(DiffCommand(doc, [diff], text, applied=True))
            self.stroke_finished.emit()
