"""The canvas widget: view transform, layer drawing, and pointer input.

Only the visible part of each layer is drawn, through QImages that share the numpy
buffers (app/ui/qimage.py); below 50 % zoom it draws from reduced copies (render.py). A
document change repaints only the widget rectangle under the changed box. Panning is
bounded so that the view's centre always lies on the photo (it can never be lost
off-canvas); the scrollbars around the canvas (scrollframe.py) follow the same bounds.
With the split view on, left of the split line shows the original, right the result.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from app.core.brush import Box, clip_box
from app.core.document import Document
from app.ui import qimage
from app.ui.overlays import SPLIT_GRAB_PX, draw_decorations
from app.ui.render import LevelCache, level_for, over_checker
from app.ui.tools import CLICK_PX, ToolController

MIN_SCALE, MAX_SCALE = 1 / 64, 32.0
STRIPE_PX = 9  # the protect layer's stripes repeat every this many screen pixels
# The zoom keys step through these (as other editors do), so 100 %, 200 % or 400 % are a
# few presses away from any zoom; Ctrl+wheel zooms smoothly.
ZOOM_STEPS = (1 / 64, 1 / 48, 1 / 32, 1 / 24, 1 / 16, 1 / 12, 1 / 8, 1 / 6, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 1.0,
              1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)
BACKGROUND = QColor(42, 42, 46)


class Canvas(QWidget):
    view_changed = Signal()  # zoom or pan changed
    point_clicked = Signal(int, int)  # image pixel clicked in attention mode
    hover = Signal(int, int)  # image pixel under the cursor; (-1, -1): none (off the photo)
    refused = Signal(str)  # a press that does nothing, and why
    entered = Signal()  # the pointer came onto the canvas

    def __init__(self, tools: ToolController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tools = tools
        self.doc: Document | None = None
        self.scale = 1.0
        self.offset = QPointF(0, 0)  # widget position of image pixel (0, 0)
        self.show_mask = True
        self.show_sketch = True
        self.show_protect = True
        self.show_original = False  # held Tab
        self.attention_mode = False
        self.heatmap: QImage | None = None  # drawn over the whole image when set
        self.heat_point: tuple[int, int] | None = None
        self.fill_outline: QPainterPath | None = None  # the last fill's hole, in image pixels (attention viewer)
        self.mask_color = QColor("#ff2d55")
        self.mask_opacity = 0.45
        self.sketch_color = QColor("#00e5ff")
        self.protect_color = QColor("#39d353")  # a third colour: areas no fill may copy from
        self.split = False  # before/after split view (the backslash key)
        self.split_pos = 0.5  # split line, as a fraction of the widget width
        self.split_dragging = False
        self._tables: dict[str, list[int]] = {}
        self._stripes: tuple[int, QImage] | None = None  # the protect colour's stripe tile
        self._caches: dict[str, LevelCache] = {}
        self._shown: dict[str, np.ndarray] = {}  # "image" / "original" over a checkerboard (transparent photos)
        self._alpha: np.ndarray | None = None
        self._cursor: QPointF | None = None
        self._pan_from: QPointF | None = None
        self._space = False
        self._fitted = False  # showing "fit": keep fitting while the window is resized
        self._fit_enlarges = True  # the last fit may enlarge a small photo (Ctrl+0), or not (just opened)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(200, 150)
        tools.changed.connect(self._outline_changed)
        tools.preview_changed.connect(self.update)
        tools.selector.busy_changed.connect(
            lambda busy: self.setCursor(Qt.CursorShape.BusyCursor if busy else Qt.CursorShape.CrossCursor))
        self._rebuild_tables()

    # -- document -------------------------------------------------------------------------
    def set_document(self, doc: Document | None) -> None:
        self.doc = doc
        self._cursor = None  # known again at the next move: no pixel of this photo is named before
        self.heatmap = None
        self.heat_point = None
        self._shown, self._alpha = {}, None
        if doc is not None:
            doc.add_listener(self._doc_changed)
            alpha = doc.source.alpha if doc.has_alpha() else None
            if alpha is not None and (alpha < 255).any():
                # transparent areas drawn over a checkerboard, not as the colours hidden there;
                # a filled hole is opaque (Document.alpha), so _alpha follows the fills
                self._alpha = doc.alpha()
                self._shown = {"image": over_checker(doc.image, self._alpha),
                               "original": over_checker(doc.original, alpha)}
            self._caches = {
                "image": LevelCache(lambda: self._pixels("image")),
                "original": LevelCache(lambda: self._pixels("original")),
                "mask": LevelCache(lambda: doc.mask.view(np.uint8), gain=255),
                "sketch": LevelCache(lambda: doc.sketch),
                "protect": LevelCache(lambda: doc.protect.view(np.uint8), gain=255),
            }
            self.fit(enlarge=False)
        self.update()

    def _pixels(self, layer: str) -> np.ndarray:
        """The photo's pixels as drawn: over the checkerboard where the photo is transparent."""
        shown = self._shown.get(layer)
        if shown is not None:
            return shown
        return self.doc.image if layer == "image" else self.doc.original  # type: ignore[union-attr]

    def _doc_changed(self, layer: str, box: Box | None) -> None:
        if layer in ("image", "opaque") and "image" in self._shown:
            doc = self.doc
            assert doc is not None and self._alpha is not None
            if box is None:
                self._alpha = doc.alpha()
                self._shown["image"] = over_checker(doc.image, self._alpha)
            else:
                x0, y0, x1, y1 = box
                self._alpha[y0:y1, x0:x1] = doc.alpha(box)
                self._shown["image"][y0:y1, x0:x1] = over_checker(doc.image, self._alpha, box)
        cache = self._caches.get("image" if layer == "opaque" else layer)  # opaque changes how the image looks
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
            "protect0": qimage.binary_table(self.protect_color, 0.2),
            "protect": qimage.ramp_table(self.protect_color, 0.2),
            "protect_solid0": qimage.binary_table(self.protect_color, 1.0),  # where the stripes go
            "protect_solid": qimage.ramp_table(self.protect_color, 1.0),
        }

    def set_heatmap(self, heatmap: QImage | None, point: tuple[int, int] | None = None) -> None:
        self.heatmap, self.heat_point = heatmap, point
        self.update()

    def set_fill_outline(self, outline: QPainterPath | None) -> None:
        if outline is not self.fill_outline:
            self.fill_outline = outline
            self.update()

    # -- view transform -------------------------------------------------------------------
    def to_image(self, pos: QPointF) -> tuple[float, float]:
        return ((pos.x() - self.offset.x()) / self.scale, (pos.y() - self.offset.y()) / self.scale)

    def to_widget(self, x: float, y: float) -> QPointF:
        return QPointF(self.offset.x() + x * self.scale, self.offset.y() + y * self.scale)

    def _widget_rect(self, box: Box) -> QRect:
        a, b = self.to_widget(box[0], box[1]), self.to_widget(box[2], box[3])
        return QRectF(a, b).toAlignedRect()

    def fit(self, enlarge: bool = True) -> None:
        """The whole photo in view (Ctrl+0). ``enlarge=False`` (a photo just opened) shows a
        photo smaller than the view at 100 %, as other editors do: enlarged, its pixels look
        soft, and so would a fill's. A resize keeps the last fit's way."""
        if self.doc is None:
            return
        margin = 16
        s = min((self.width() - margin) / self.doc.width, (self.height() - margin) / self.doc.height)
        if not enlarge:
            s = min(s, 1.0)
        self._set_view(max(MIN_SCALE, min(MAX_SCALE, s)), None)
        self._center()
        self._fitted, self._fit_enlarges = True, enlarge

    def actual_size(self) -> None:
        """100 %: the pixel under the cursor stays under it; without the cursor over the
        photo, the pixel at the view's centre stays there (the photo's centre when all of
        the photo is in view)."""
        if self.doc is None:
            return
        cursor = self._cursor
        if cursor is not None and self.rect().contains(cursor.toPoint()) and self._on_image(cursor):
            self.zoom_to(1.0, cursor)
            return
        centre = QPointF(self.width() / 2, self.height() / 2)
        if self.doc.width * self.scale <= self.width() and self.doc.height * self.scale <= self.height():
            ix, iy = self.doc.width / 2, self.doc.height / 2  # all of it in view: its centre
        else:
            ix, iy = self.to_image(centre)  # on the photo (panning keeps it there); clamped to be sure
            ix, iy = min(max(ix, 0.0), self.doc.width - 0.5), min(max(iy, 0.0), self.doc.height - 0.5)
        self._set_view(1.0, QPointF(centre.x() - ix, centre.y() - iy))

    def _on_image(self, pos: QPointF) -> bool:
        x, y = self.to_image(pos)
        return self.doc is not None and 0 <= x < self.doc.width and 0 <= y < self.doc.height

    def scroll_to(self, x: float | None = None, y: float | None = None) -> None:
        """Put image point (x, y) (either may be None: unchanged) at the view's centre."""
        ox = self.offset.x() if x is None else self.width() / 2 - x * self.scale
        oy = self.offset.y() if y is None else self.height() / 2 - y * self.scale
        keep = self._fitted
        self._set_view(self.scale, QPointF(ox, oy))
        self._fitted = keep and QPointF(ox, oy) == self.offset

    def zoom_to(self, scale: float, anchor: QPointF) -> None:
        """Zoom keeping the image point under ``anchor`` (widget coordinates) in place."""
        scale = max(MIN_SCALE, min(MAX_SCALE, scale))
        ix, iy = self.to_image(anchor)
        self._set_view(scale, QPointF(anchor.x() - ix * scale, anchor.y() - iy * scale))

    def zoom_step(self, up: bool, anchor: QPointF) -> None:
        """Zoom to the next of ZOOM_STEPS above (``up``) or below the present zoom."""
        if up:
            scale = next((z for z in ZOOM_STEPS if z > self.scale * 1.001), MAX_SCALE)
        else:
            scale = next((z for z in reversed(ZOOM_STEPS) if z < self.scale / 1.001), MIN_SCALE)
        self.zoom_to(scale, anchor)

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
        self.offset = self._bounded(self.offset)
        self.update()
        self.view_changed.emit()
        if self._cursor is not None:  # the pixel under a still cursor changed with the view
            self._emit_hover(self._cursor)

    def _bounded(self, offset: QPointF) -> QPointF:
        """The offset moved (if needed) so that the view's centre lies on the photo."""
        if self.doc is None:
            return offset
        w, h = self.doc.width * self.scale, self.doc.height * self.scale
        cx, cy = self.width() / 2, self.height() / 2
        return QPointF(min(cx, max(cx - w, offset.x())), min(cy, max(cy - h, offset.y())))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.doc is not None and self._fitted:
            self.fit(self._fit_enlarges)
        elif self.doc is not None:
            old = event.oldSize()
            if old.isValid():  # keep the pixel at the centre (a scrollbar appearing, say)
                shift = QPointF((self.width() - old.width()) / 2, (self.height() - old.height()) / 2)
                self.offset = self._bounded(self.offset + shift)
            self.view_changed.emit()  # the scrollbars' page size follows the view

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
                self._draw(p, "original", self._pixels("original"), vis, k, None)
            else:
                self._draw(p, "image", self._pixels("image"), vis, k, None)
                protect = self.show_protect and self.heatmap is None and self._protect_in_view(vis, k)
                if protect:
                    self._draw(p, "protect", doc.protect.view(np.uint8), vis, k, "protect0" if k == 0 else "protect")
                if self.show_mask and self.heatmap is None:
                    self._draw(p, "mask", doc.mask.view(np.uint8), vis, k, "mask0" if k == 0 else "mask")
                if protect:  # over the mask's colour too: a protected hole still reads as protected
                    self._draw_stripes(p, doc.protect.view(np.uint8), vis, k)
                if self.show_sketch:
                    self._draw(p, "sketch", doc.sketch, vis, k, "sketch")
                if self.split:  # left of the line: the photo as opened, no overlays
                    p.save()
                    p.setClipRect(QRectF(0, 0, self.split_px(), self.height()))
                    self._draw(p, "original", self._pixels("original"), vis, k, None)
                    p.restore()
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

    def _protect_in_view(self, vis: Box, k: int) -> bool:
        """Whether any protected pixel lies in ``vis`` (none on most photos: no pass over them
        at every brush dab)."""
        f = 1 << k
        level = self.doc.protect if k == 0 else self._caches["protect"].level(k)
        return bool(level[vis[1] // f : -(-vis[3] // f), vis[0] // f : -(-vis[2] // f)].any())

    def _draw_stripes(self, p: QPainter, full: np.ndarray, vis: Box, k: int) -> None:
        """Diagonal stripes of the protect colour over the protected pixels (whose light tint
        is drawn under the mask), in screen pixels so they keep their spacing at any zoom. A
        translucent tint alone turned brown over a red subject; stripes stay green over any
        colour."""
        target = self._widget_rect(vis).intersected(self.rect())
        if target.isEmpty():
            return
        stripes = QImage(target.size(), QImage.Format.Format_ARGB32_Premultiplied)
        stripes.fill(0)
        q = QPainter(stripes)
        q.translate(-target.topLeft())
        self._draw(q, "protect", full, vis, k, "protect_solid0" if k == 0 else "protect_solid")
        q.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        q.resetTransform()
        q.setBrushOrigin(-target.topLeft())  # stripes fixed to the widget, not to the repainted part
        q.fillRect(stripes.rect(), QBrush(self._stripe_tile()))
        q.end()
        p.drawImage(target.topLeft(), stripes)

    def _stripe_tile(self) -> QImage:
        """A tile of diagonal stripes in the protect colour, STRIPE_PX apart, a third as wide."""
        if self._stripes is None or self._stripes[0] != self.protect_color.rgba():
            y, x = np.mgrid[0:STRIPE_PX, 0:STRIPE_PX]
            on = (x + y) % STRIPE_PX < max(2, STRIPE_PX // 3)
            c = self.protect_color
            rgba = np.zeros((STRIPE_PX, STRIPE_PX, 4), np.uint8)
            rgba[on] = (c.red(), c.green(), c.blue(), 235)
            self._stripes = (c.rgba(), qimage.rgba_image(rgba))
        return self._stripes[1]

    def _draw_decorations(self, p: QPainter) -> None:
        draw_decorations(self, p)

    # -- split view -----------------------------------------------------------------------
    def set_split(self, on: bool) -> None:
        if on != self.split:
            self.split = on
            self.split_dragging = False
            self.update()

    def split_px(self) -> float:
        return round(self.split_pos * self.width())

    def _near_split(self, pos: QPointF) -> bool:
        return self.split and self.doc is not None and abs(pos.x() - self.split_px()) <= SPLIT_GRAB_PX

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
        pos = event.position()
        if self.split:  # a stroke never reaches left of the split line, where the original shows
            reach = ((self.tools.outline_diameter() or 0.0) / 2 + 1) * self.scale  # the brush, and its rounding
            pos = QPointF(max(pos.x(), self.split_px() + reach), pos.y())
        x, y = self.to_image(pos)
        return (x - 0.5, y - 0.5)  # pixel centres: a click inside pixel (3, 4) paints (3, 4)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.doc is None:
            return
        button = event.button()
        if button == Qt.MouseButton.LeftButton and self._near_split(event.position()) and not self._space:
            self.split_dragging = True
        elif button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space):
            self._pan_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif button == Qt.MouseButton.LeftButton:
            if self.attention_mode:
                x, y = self.to_image(event.position())
                if 0 <= x < self.doc.width and 0 <= y < self.doc.height:
                    self.point_clicked.emit(int(x), int(y))
            elif self.split and event.position().x() < self.split_px():
                # the original is shown there, without the layers: nothing is painted unseen
                self.refused.emit("Left of the split line is the original: paint on the right, "
                                  "or turn the split view off (\\)")
            elif not self.show_original:
                alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
                self.tools.press(self._image_point(event), subtract=alt)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        old = self._outline_rect()
        self._cursor = event.position()
        self._emit_hover(event.position())
        if self.split_dragging:
            self.split_pos = min(1.0, max(0.0, event.position().x() / max(1, self.width())))
            self.update()
            return
        if self._near_split(event.position()) and not self.tools.dragging:
            self.setCursor(Qt.CursorShape.SplitHCursor)
        elif self._pan_from is None and self.split:
            self.setCursor(Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.CrossCursor)
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self._set_view(self.scale, self.offset + delta)
            return
        if self.doc is not None:
            if event.buttons() & Qt.MouseButton.LeftButton and self.tools.dragging:
                self.tools.move(self._image_point(event))
        self.update(old.united(self._outline_rect()))

    def _emit_hover(self, pos: QPointF) -> None:
        """The image pixel under the cursor, or (-1, -1) off the photo (or with none open)."""
        if self.doc is None:
            self.hover.emit(-1, -1)
            return
        x, y = (int(math.floor(v)) for v in self.to_image(pos))
        w, h = self.doc.size_wh
        self.hover.emit(*((x, y) if 0 <= x < w and 0 <= y < h else (-1, -1)))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.split_dragging and event.button() == Qt.MouseButton.LeftButton:
            self.split_dragging = False
        elif self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self.setCursor(Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.CrossCursor)
        elif event.button() == Qt.MouseButton.LeftButton and self.tools.dragging:
            self.tools.release(self._image_point(event), click_px=CLICK_PX / self.scale)

    def leaveEvent(self, event) -> None:
        old = self._outline_rect()
        self._cursor = None
        self.hover.emit(-1, -1)
        self.update(old)

    def enterEvent(self, event) -> None:
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.entered.emit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.doc is None:
            return
        self._cursor = event.position()  # the readout names the pixel under it after the scroll
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
