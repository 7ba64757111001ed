"""The canvas widget: view transform, layer drawing, and pointer input.

Only the visible part of each layer is drawn, through QImages that share the numpy
buffers (app/ui/qimage.py); below 50 % zoom it draws from reduced copies (render.py). A
document change repaints only the widget rectangle under the changed box.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen, QWheelEvent
from PySide6.QtWidgets import QWidget

from app.core.brush import Box, clip_box
from app.core.document import Document
from app.ui import qimage
from app.ui.render import LevelCache, level_for
from app.ui.tools import ToolController

MIN_SCALE, MAX_SCALE = 1 / 64, 32.0
BACKGROUND = QColor(42, 42, 46)


class Canvas(QWidget):
    view_changed = Signal()  # zoom or pan changed
    point_clicked = Signal(int, int)  # image pixel clicked in attention mode
    hover = Signal(int, int)  # image pixel under the cursor

    def __init__(self, tools: ToolController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tools = tools
        self.doc: Document | None = None
        self.scale = 1.0
        self.offset = QPointF(0, 0)  # widget position of image pixel (0, 0)
        self.show_mask = True
        self.show_sketch = True
        self.show_original = False  # held Tab
        self.attention_mode = False
        self.heatmap: QImage | None = None  # drawn over the whole image when set
        self.heat_point: tuple[int, int] | None = None
        self.mask_color = QColor("#ff2d55")
        self.mask_opacity = 0.45
        self.sketch_color = QColor("#00e5ff")
        self._tables: dict[str, list[int]] = {}
        self._caches: dict[str, LevelCache] = {}
        self._cursor: QPointF | None = None
        self._pan_from: QPointF | None = None
        self._space = False
        self._fitted = False  # showing "fit": keep fitting while the window is resized
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(200, 150)
        tools.changed.connect(self._outline_changed)
        tools.preview_changed.connect(self.update)
        self._rebuild_tables()

    # -- document -------------------------------------------------------------------------
    def set_document(self, doc: Document | None) -> None:
        self.doc = doc
        self.heatmap = None
        self.heat_point = None
        if doc is not None:
            doc.add_listener(self._doc_changed)
            self._caches = {
                "image": LevelCache(lambda: doc.image),
                "original": LevelCache(lambda: doc.original),
                "mask": LevelCache(lambda: doc.mask.view(np.uint8), gain=255),
                "sketch": LevelCache(lambda: doc.sketch),
            }
            self.fit()
        self.update()

    def _doc_changed(self, layer: str, box: Box | None) -> None:
        cache = self._caches.get(layer)
        if cache is not None:
            cache.invalidate(box)
        if box is None:
            self.update()
        else:
            self.update(self._widget_rect(box).adjusted(-2, -2, 2, 2))

    # -- appearance -----------------------------------------------------------------------
    def set_overlay_style(self, mask_color: QColor, opacity: float, sketch_color: QColor) -> None:
        self.mask_color, self.mask_opacity, self.sketch_color = QColor(mask_color), opacity, QColor(sketch_color)
        self._rebuild_tables()
        self.update()

    def _rebuild_tables(self) -> None:
        self._tables = {
            "mask0": qimage.binary_table(self.mask_color, self.mask_opacity),
            "mask": qimage.ramp_table(self.mask_color, self.mask_opacity),
            "sketch": qimage.ramp_table(self.sketch_color, 1.0),
        }

    def set_heatmap(self, heatmap: QImage | None, point: tuple[int, int] | None = None) -> None:
        self.heatmap, self.heat_point = heatmap, point
        self.update()

    # -- view transform -------------------------------------------------------------------
    def to_image(self, pos: QPointF) -> tuple[float, float]:
        return ((pos.x() - self.offset.x()) / self.scale, (pos.y() - self.offset.y()) / self.scale)

    def to_widget(self, x: float, y: float) -> QPointF:
        return QPointF(self.offset.x() + x * self.scale, self.offset.y() + y * self.scale)

    def _widget_rect(self, box: Box) -> QRect:
        a, b = self.to_widget(box[0], box[1]), self.to_widget(box[2], box[3])
        return QRectF(a, b).toAlignedRect()

    def fit(self) -> None:
        if self.doc is None:
            return
        margin = 16
        s = min((self.width() - margin) / self.doc.width, (self.height() - margin) / self.doc.height)
        self._set_view(max(MIN_SCALE, min(MAX_SCALE, s)), None)
        self._center()
        self._fitted = True

    def actual_size(self) -> None:
        self.zoom_to(1.0, QPointF(self.width() / 2, self.height() / 2))

    def zoom_to(self, scale: float, anchor: QPointF) -> None:
        """Zoom keeping the image point under ``anchor`` (widget coordinates) in place."""
        scale = max(MIN_SCALE, min(MAX_SCALE, scale))
        ix, iy = self.to_image(anchor)
        self._set_view(scale, QPointF(anchor.x() - ix * scale, anchor.y() - iy * scale))

    def _center(self) -> None:
        if self.doc is None:
            return
        self._set_view(self.scale, QPointF((self.width() - self.doc.width * self.scale) / 2,
                                           (self.height() - self.doc.height * self.scale) / 2))

    def _set_view(self, scale: float, offset: QPointF | None) -> None:
        self._fitted = False
        self.scale = scale
        if offset is not None:
            self.offset = offset
        self.update()
        self.view_changed.emit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.doc is not None and self._fitted:
            self.fit()

    # -- painting -------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(event.rect(), BACKGROUND)
        doc = self.doc
        if doc is None:
            p.setPen(QColor(200, 200, 205))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                       "Open a photo (Ctrl+O), drop one here, or paste one (Ctrl+V)")
            return
        a = self.to_image(QPointF(event.rect().topLeft()))
        b = self.to_image(QPointF(event.rect().bottomRight()) + QPointF(1, 1))
        vis = clip_box((math.floor(a[0]) - 1, math.floor(a[1]) - 1, math.ceil(b[0]) + 1, math.ceil(b[1]) + 1),
                       doc.size_wh)
        if vis is not None:
            k = level_for(self.scale)
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.scale < 1.0)
            if self.show_original:
                self._draw(p, "original", doc.original, vis, k, None)
            else:
                self._draw(p, "image", doc.image, vis, k, None)
                if self.show_mask and self.heatmap is None:
                    self._draw(p, "mask", doc.mask.view(np.uint8), vis, k, "mask0" if k == 0 else "mask")
                if self.show_sketch:
                    self._draw(p, "sketch", doc.sketch, vis, k, "sketch")
        if self.heatmap is not None and not self.show_original:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.setOpacity(0.9)
            p.drawImage(QRectF(self.to_widget(0, 0), self.to_widget(doc.width, doc.height)), self.heatmap)
            p.setOpacity(1.0)
        self._draw_decorations(p)

    def _draw(self, p: QPainter, name: str, full: np.ndarray, vis: Box, k: int, table: str | None) -> None:
        f = 1 << k
        array = full if k == 0 else self._caches[name].level(k)
        lh, lw = array.shape[:2]
        lb = clip_box((vis[0] // f, vis[1] // f, -(-vis[2] // f), -(-vis[3] // f)), (lw, lh))
        if lb is None:
            return
        img = (qimage.rgb_region(array, lb) if table is None
               else qimage.indexed_region(array, lb, self._tables[table]))
        target = QRectF(self.to_widget(lb[0] * f, lb[1] * f), self.to_widget(lb[2] * f, lb[3] * f))
        p.drawImage(target, img)

    def _draw_decorations(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        tools = self.tools
        if tools.anchor is not None and tools.points:
            (x0, y0), (x1, y1) = tools.anchor, tools.points[-1]
            self._dashed(p).drawRect(QRectF(self.to_widget(min(x0, x1), min(y0, y1)),
                                            self.to_widget(max(x0, x1) + 1, max(y0, y1) + 1)))
        elif tools.tool == "lasso" and len(tools.points) > 1:
            path = QPainterPath(self.to_widget(*tools.points[0]))
            for pt in tools.points[1:]:
                path.lineTo(self.to_widget(*pt))
            self._dashed(p).drawPath(path)
        if self.heat_point is not None:
            c = self.to_widget(self.heat_point[0] + 0.5, self.heat_point[1] + 0.5)
            p.setPen(QPen(QColor("white"), 2))
            p.drawEllipse(c, 7, 7)
            p.setPen(QPen(QColor("black"), 1))
            p.drawEllipse(c, 9, 9)
        d = tools.outline_diameter()
        if self._cursor is not None and d is not None and not self.attention_mode and self._pan_from is None:
            r = max(1.5, d * self.scale / 2)
            p.setPen(QPen(QColor(0, 0, 0, 200), 3))
            p.drawEllipse(self._cursor, r, r)
            p.setPen(QPen(QColor(255, 255, 255, 230), 1))
            p.drawEllipse(self._cursor, r, r)

    @staticmethod
    def _dashed(p: QPainter) -> QPainter:
        pen = QPen(QColor("white"), 1.5, Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        return p

    def _outline_rect(self) -> QRect:
        d = self.tools.outline_diameter() or 0
        r = max(2.0, d * self.scale / 2) + 4
        if self._cursor is None:
            return QRect()
        return QRectF(self._cursor - QPointF(r, r), self._cursor + QPointF(r, r)).toAlignedRect()

    def _outline_changed(self) -> None:
        self.update()

    # -- input ----------------------------------------------------------------------------
    def _image_point(self, event: QMouseEvent) -> tuple[float, float]:
        x, y = self.to_image(event.position())
        return (x - 0.5, y - 0.5)  # pixel centres: a click inside pixel (3, 4) paints (3, 4)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.doc is None:
            return
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space):
            self._pan_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif button == Qt.MouseButton.LeftButton:
            if self.attention_mode:
                x, y = self.to_image(event.position())
                if 0 <= x < self.doc.width and 0 <= y < self.doc.height:
                    self.point_clicked.emit(int(x), int(y))
            elif not self.show_original:
                alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
                self.tools.press(self._image_point(event), subtract=alt)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        old = self._outline_rect()
        self._cursor = event.position()
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self._set_view(self.scale, self.offset + delta)
            return
        if self.doc is not None:
            if event.buttons() & Qt.MouseButton.LeftButton and self.tools.dragging:
                self.tools.move(self._image_point(event))
            x, y = self.to_image(event.position())
            self.hover.emit(int(math.floor(x)), int(math.floor(y)))
        self.update(old.united(self._outline_rect()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self.setCursor(Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.CrossCursor)
        elif event.button() == Qt.MouseButton.LeftButton and self.tools.dragging:
            self.tools.release(self._image_point(event))

    def leaveEvent(self, event) -> None:
        old = self._outline_rect()
        self._cursor = None
        self.update(old)

    def enterEvent(self, event) -> None:
        self.setCursor(Qt.CursorShape.CrossCursor)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.doc is None:
            return
        delta = event.angleDelta()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            factor = 2 ** (delta.y() / 240.0)  # one notch = x1.41
            self.zoom_to(self.scale * factor, event.position())
        else:  # plain wheel scrolls, Shift scrolls sideways
            dx, dy = delta.x(), delta.y()
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                dx, dy = dy, dx
            self._set_view(self.scale, self.offset + QPointF(dx / 2, dy / 2))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._pan_from = None
            self.setCursor(Qt.CursorShape.CrossCursor)
            return
        super().keyReleaseEvent(event)

    def set_show_original(self, on: bool) -> None:
        if on != self.show_original:
            self.show_original = on
            self.update()
