"""Scrollbars around the canvas, shown along an axis when the photo is larger than the view.

A scrollbar's value is the image position (in widget pixels at the current zoom) at the
view's centre; its ends put the photo's edge at the view's edge, as in any scrolled
document (Space-drag may pan a little further, up to the photo's edge at the centre).
Moving a bar scrolls the canvas and zooming or panning the canvas moves the bars. The bars
lie over the canvas' right and bottom edges, so that showing one never resizes the canvas
(which would move the pixel under the cursor while zooming).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollBar, QWidget

from app.ui.canvas import Canvas


class CanvasFrame(QWidget):
    def __init__(self, canvas: Canvas, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        canvas.setParent(self)
        self.setMinimumSize(canvas.minimumSize())
        self.hbar = QScrollBar(Qt.Orientation.Horizontal, self)
        self.vbar = QScrollBar(Qt.Orientation.Vertical, self)
        self.corner = QWidget(self)  # the square where the bars meet: no photo shows through
        self.corner.setAutoFillBackground(True)
        self.corner.hide()
        for bar in (self.hbar, self.vbar):
            bar.hide()
            bar.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the canvas
        self.hbar.valueChanged.connect(lambda v: self._scrolled(x=v))
        self.vbar.valueChanged.connect(lambda v: self._scrolled(y=v))
        canvas.view_changed.connect(self.sync)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        w, h = self.width(), self.height()
        self.canvas.setGeometry(0, 0, w, h)
        t = self.vbar.sizeHint().width()
        self.vbar.setGeometry(w - t, 0, t, h - t)
        self.hbar.setGeometry(0, h - t, w - t, t)
        self.corner.setGeometry(w - t, h - t, t, t)
        for widget in (self.vbar, self.hbar, self.corner):
            widget.raise_()

    def sync(self) -> None:
        """Bring both bars in line with the canvas' zoom and pan."""
        c = self.canvas
        doc = c.doc
        if doc is None:
            for widget in (self.hbar, self.vbar, self.corner):
                widget.hide()
            return
        for bar, size, view, offset in ((self.hbar, doc.width, c.width(), c.offset.x()),
                                        (self.vbar, doc.height, c.height(), c.offset.y())):
            extent = round(size * c.scale)
            bar.blockSignals(True)
            bar.setRange(view // 2, max(view // 2, extent - (view - view // 2)))
            bar.setPageStep(max(1, view))
            bar.setSingleStep(max(1, view // 20))
            bar.setValue(round(view / 2 - offset))
            bar.blockSignals(False)
            bar.setVisible(extent > view)
        self.corner.setVisible(self.hbar.isVisibleTo(self) and self.vbar.isVisibleTo(self))

    def _scrolled(self, x: int | None = None, y: int | None = None) -> None:
        c = self.canvas
        c.scroll_to(None if x is None else x / c.scale, None if y is None else y / c.scale)
