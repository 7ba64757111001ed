"""The attention viewer: click a filled pixel, see where the fill borrowed from.

The engine's ``explain`` runs in the inference worker; this module only turns its maps into
a translucent heat map (attention) or a colour map (learned temperature) for the canvas,
with a legend in the panel saying what the colours mean. The map and its words are cleared
as soon as they no longer describe what is on screen (a new fill, undo, another engine,
another photo, a cancelled or failed request).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter, QPainterPath, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QBoxLayout, QScrollArea, QSizePolicy, QWidget

from app.ui.docks import ATTENTION_HINT
from app.ui.qimage import rgba_image
from app.ui.worker import Request

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

MAX_SIDE = 1024  # the maps come from a coarse attention grid; more pixels add nothing
NEED_FILL = "Fill a hole first, then click inside it."
OUTSIDE_FILL = "Click inside the dashed outline: the last fill's hole."
OUTLINE_HINT = "Click a pixel inside the dashed outline (the last fill) to see where it borrowed from."
FILL_UNDONE = "The last fill was undone: redo it (Ctrl+Shift+Z) or fill again to see where it borrowed from."
TEMPERATURE_HINT = "Click a filled pixel to see the learned temperature of that fill."
ATTENTION_WORDS = ("borrowed nothing", "borrowed most")


def _shrink(values: np.ndarray) -> np.ndarray:
    h, w = values.shape
    f = max(h, w) / MAX_SIDE
    if f <= 1:
        return values.astype(np.float32)
    return cv2.resize(values.astype(np.float32), (max(1, round(w / f)), max(1, round(h / f))),
                      interpolation=cv2.INTER_AREA)


def attention_numbers(result: dict) -> str:
    """The clicked pixel's effective keys and the hole's distinct sources per hole token, in
    words ("" for what the engine did not report)."""
    words = []
    keys = result.get("attn_keys")
    if isinstance(keys, float | int) and math.isfinite(keys) and keys > 0:
        words.append(f"Effective keys: {keys:.{1 if keys < 10 else 0}f} (1 = it copied one place).")
    distinct = result.get("attn_distinct")
    if isinstance(distinct, float | int) and math.isfinite(distinct):
        words.append(f"Distinct sources per hole token: {distinct:.2f} "
                     "(1 = every part of the hole borrows from a place of its own).")
    return " ".join(words)


def attention_heatmap(attention: np.ndarray) -> QImage:
    """Inferno colours whose opacity follows the weight, so the photo shows through where
    the pixel borrowed nothing."""
    a = _shrink(attention)
    valid = a > 0
    # Show only what gets more than an even share: a flat (untrained or blending) head
    # then reads as "borrowed from everywhere a little" instead of a solid wash.
    base = float(np.median(a[valid])) if valid.any() else 0.0
    top = float(a.max())
    if top <= 0:
        a = np.zeros_like(a)
    elif top - base > 1e-3 * top:
        a = np.clip((a - base) / (top - base), 0, 1)
    else:  # one key, or exactly even weights: show them as they are
        a = a / top
    a = np.sqrt(a)  # weights are peaky; the square root makes second sources visible
    colors = cv2.applyColorMap((a * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)[..., ::-1]
    alpha = (np.clip(a * 1.4, 0, 1) * 235).astype(np.uint8)
    return rgba_image(np.dstack([colors, alpha]))


def temperature_map(temperature: np.ndarray) -> tuple[QImage, float, float]:
    """Opaque-ish colour map of the temperature, with its range for the legend."""
    t = _shrink(temperature)
    lo, hi = float(t.min()), float(t.max())
    norm = (t - lo) / (hi - lo) if hi > lo else np.zeros_like(t)
    colors = cv2.applyColorMap((norm * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)[..., ::-1]
    alpha = np.full(t.shape, 200, np.uint8)
    return rgba_image(np.dstack([colors, alpha])), lo, hi


def hole_outline(mask: np.ndarray) -> QPainterPath:
    """The boundary of every hole region (and of islands inside one), through the centres of
    its edge pixels, in image pixels."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    path = QPainterPath()
    for contour in contours:
        points = contour[:, 0, :].astype(np.float64) + 0.5
        if len(points) > 1:
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in points]))
            path.closeSubpath()
    return path


def _colormap_stops(colormap: int, count: int = 12) -> list[QColor]:
    values = np.linspace(0, 255, count).astype(np.uint8)[None, :]
    bgr = cv2.applyColorMap(values, colormap)[0]
    return [QColor(int(r), int(g), int(b)) for b, g, r in bgr]


class ColorLegend(QWidget):
    """A colour bar with what its two ends mean, and what the ring marks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stops: list[QColor] = []
        self.left = self.right = ""
        self.ring = True
        self.setMinimumHeight(54)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_map(self, colormap: int, left: str, right: str, ring: bool) -> None:
        self.stops = _colormap_stops(colormap)
        self.left, self.right, self.ring = left, right, ring
        self.setToolTip(f"Colours from {left} (left) to {right} (right)")
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        w = self.width()
        bar = QRectF(1, 2, w - 2, 12)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for i, color in enumerate(self.stops):
            gradient.setColorAt(i / max(1, len(self.stops) - 1), color)
        p.fillRect(bar, gradient)
        p.setPen(self.palette().windowText().color())  # readable on light and dark themes
        text = QRectF(0, 16, w, 16)
        p.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.left)
        p.drawText(text, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, self.right)
        if self.ring:
            c = QPointF(8, 43)
            p.setPen(QPen(QColor("black"), 4))  # the outline keeps the white ring visible on a light panel
            p.drawEllipse(c, 5, 5)
            p.setPen(QPen(QColor("white"), 2))
            p.drawEllipse(c, 5, 5)
            p.setPen(self.palette().windowText().color())  # readable on light and dark themes
            p.drawText(QRectF(18, 35, w - 18, 16), Qt.AlignmentFlag.AlignVCenter, "the pixel you clicked")


class AttentionViewer(QObject):
    """The mode: canvas clicks become explain requests for the last fill's inputs."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.explained: dict | None = None
        self.computing: Request | None = None
        self._shown_version: int | None = None  # the image version the map was made for
        self._outline: tuple[Request, QPainterPath] | None = None  # the last fill's, once drawn
        self.legend = ColorLegend()
        self.legend.hide()
        info = window.panel.attention_info
        layout = info.parentWidget().layout()
        if isinstance(layout, QBoxLayout):
            # the colour key above the words: at the default window size the words run past
            # the panel's bottom, and the key must stay in sight with the map
            layout.insertWidget(layout.indexOf(info), self.legend)
        a = window.actions_
        a.attention.toggled.connect(self._toggled)
        a.temperature.toggled.connect(self._temperature_toggled)
        window.canvas.point_clicked.connect(self.explain_at)
        window.inference.explain_done.connect(self._done)
        window.inference.failed.connect(self._failed)
        window.inference.engine_changed.connect(lambda _info: self.clear())  # maps of another engine
        window.undo_stack.indexChanged.connect(lambda _i: self._image_may_have_changed())

    def _say(self, text: str) -> None:
        self.w.panel.attention_info.setText(text)

    def _idle_text(self) -> str:
        if not self.w.actions_.attention.isChecked():
            return ATTENTION_HINT
        if self.w.last_fill is None:
            return NEED_FILL
        return OUTLINE_HINT if self.w.fill_shown() else FILL_UNDONE

    def reset(self) -> None:
        self.clear()
        self.w.actions_.attention.setChecked(False)

    def clear(self, text: str | None = None) -> None:
        """Drop the map, its legend and any pending words (the photo or engine changed)."""
        self.explained = None
        self.computing = None
        self._shown_version = None
        self.legend.hide()
        self.w.canvas.set_heatmap(None)
        self._say(text or self._idle_text())
        self._show_outline()

    def _show_outline(self) -> None:
        """While the viewer is on, a dashed line around the last fill's hole shows where a
        click has something to explain."""
        fill = self.w.last_fill
        if fill is None or not self.w.actions_.attention.isChecked() or not self.w.fill_shown():
            self.w.canvas.set_fill_outline(None)
            return
        if self._outline is None or self._outline[0] is not fill:
            self._outline = (fill, hole_outline(fill.snapshot.mask))
        self.w.canvas.set_fill_outline(self._outline[1])

    def cancel(self) -> None:
        """Esc while a map is computed: say so instead of "Computing…" forever."""
        if self.computing is not None:
            self.clear("Cancelled. Click a filled pixel to try again.")

    def _image_may_have_changed(self) -> None:
        doc = self.w.doc
        if self._shown_version is not None and (doc is None or doc.image_version != self._shown_version):
            self.clear()
        elif self.w.actions_.attention.isChecked() and self.explained is None and self.computing is None:
            self.clear()  # the fill undone or redone: its outline and the words follow

    def _toggled(self, on: bool) -> None:
        self.w.canvas.attention_mode = on
        if not on:
            # T is a view of the viewer: closing the viewer closes it too, so the next T
            # opens the map instead of unticking a box that shows nothing
            self.w.actions_.temperature.setChecked(False)
            self.clear(ATTENTION_HINT)
        else:
            self._say(self._idle_text())
        self._show_outline()
        self.w.canvas.update()

    def _temperature_toggled(self, on: bool) -> None:
        """T is a view of the attention viewer: turning it on opens the viewer too, so the
        key never just ticks a box with nothing to show."""
        if on and not self.w.actions_.attention.isChecked():
            self.w.actions_.attention.setChecked(True)
        if self.explained is None:
            if on and self.w.last_fill is not None:
                self._say(TEMPERATURE_HINT)
            return
        self.show()

    def explain_at(self, x: int, y: int) -> None:
        fill = self.w.last_fill
        if fill is None:
            self._say(NEED_FILL)
            return
        if not self.w.fill_shown():
            self._say(FILL_UNDONE)
            self.w.statusBar().showMessage(FILL_UNDONE, 5000)
            return
        if not fill.snapshot.mask[y, x]:
            self._say(OUTSIDE_FILL)  # and where it is seen: the panel's words may be scrolled away
            self.w.statusBar().showMessage(OUTSIDE_FILL, 5000)
            return
        # The inputs of the fill, so the map shows what that fill could borrow from.
        snap = dataclasses.replace(fill.snapshot, request_id=self.w.inference.new_id())
        self._say(f"Computing attention at ({x}, {y})…")
        self.computing = Request("explain", snap, point=(x, y))
        self.w.inference.submit(self.computing)

    def _failed(self, request: Request, message: str) -> None:
        if request.kind == "explain":
            self.clear(f"The attention map failed: {message}")
            self.w.statusBar().clearMessage()

    def _done(self, request: Request, result: dict | None) -> None:
        self.computing = None
        self.w.statusBar().clearMessage()  # "Computing attention…" is over
        if result is None:
            self.clear("The attention view needs a network engine (Network, Network + sketch, Network + "
                       "texture, or Auto where it chose one of them).")
            self.w.statusBar().showMessage("The attention view needs a network engine", 6000)
            return
        self.explained = {**result, "point": request.point}
        self.show()

    def _bring_legend_into_view(self) -> None:
        parent = self.legend.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        if parent is not None and self.legend.isVisible():
            parent.ensureWidgetVisible(self.legend, 0, 8)

    def show(self) -> None:
        e = self.explained
        if e is None or not self.w.actions_.attention.isChecked():
            return
        if self.w.actions_.temperature.isChecked():
            image, lo, hi = temperature_map(np.asarray(e["temperature"]))
            self._say(f"Learned temperature: {lo:.2f} (soft, blends) to {hi:.2f} (sharp, copies).")
            self.legend.set_map(cv2.COLORMAP_VIRIDIS, f"{lo:.2f} soft", f"{hi:.2f} sharp", True)
        else:
            image = attention_heatmap(np.asarray(e["attention"]))
            x, y = e["point"]
            self._say(" ".join(filter(None, (f"Bright = where pixel ({x}, {y}) borrowed from.", attention_numbers(e)))))
            self.legend.set_map(cv2.COLORMAP_INFERNO, *ATTENTION_WORDS, True)
        self.legend.show()
        QTimer.singleShot(0, self._bring_legend_into_view)  # once the panel has laid it out
        self._shown_version = self.w.doc.image_version if self.w.doc is not None else None
        self.w.canvas.set_heatmap(image, e["point"])
