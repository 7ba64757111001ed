"""The attention viewer: click a filled pixel, see where the fill borrowed from.

The engine's ``explain`` runs in the inference worker; this module only turns its maps into
a translucent heat map (attention) or a colour map (learned temperature) for the canvas.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QImage

from app.ui.docks import ATTENTION_HINT
from app.ui.qimage import rgba_image
from app.ui.worker import Request

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

MAX_SIDE = 1024  # the maps come from a coarse attention grid; more pixels add nothing


def _shrink(values: np.ndarray) -> np.ndarray:
    h, w = values.shape
    f = max(h, w) / MAX_SIDE
    if f <= 1:
        return values.astype(np.float32)
    return cv2.resize(values.astype(np.float32), (max(1, round(w / f)), max(1, round(h / f))),
                      interpolation=cv2.INTER_AREA)


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


class AttentionViewer(QObject):
    """The mode: canvas clicks become explain requests for the last fill's inputs."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.explained: dict | None = None
        a = window.actions_
        a.attention.toggled.connect(self._toggled)
        a.temperature.toggled.connect(lambda _on: self.show())
        window.canvas.point_clicked.connect(self.explain_at)
        window.inference.explain_done.connect(self._done)

    def _say(self, text: str) -> None:
        self.w.panel.attention_info.setText(text)

    def reset(self) -> None:
        self.explained = None
        self.w.actions_.attention.setChecked(False)

    def _toggled(self, on: bool) -> None:
        self.w.canvas.attention_mode = on
        if not on:
            self.w.canvas.set_heatmap(None)
            self._say(ATTENTION_HINT)
        elif self.w.last_fill is None:
            self._say("Fill a hole first, then click inside it.")
        self.w.canvas.update()

    def explain_at(self, x: int, y: int) -> None:
        fill = self.w.last_fill
        if fill is None:
            self._say("Fill a hole first, then click inside it.")
            return
        if not fill.snapshot.mask[y, x]:
            self._say("Click inside the filled area.")
            return
        # The inputs of the fill, so the map shows what that fill could borrow from.
        snap = dataclasses.replace(fill.snapshot, request_id=self.w.inference.new_id())
        self._say(f"Computing attention at ({x}, {y})…")
        self.w.inference.submit(Request("explain", snap, point=(x, y)))

    def _done(self, request: Request, result: dict | None) -> None:
        if result is None:
            self.explained = None
            self.w.canvas.set_heatmap(None)
            self._say("The attention view needs an MTSA engine.")
            self.w.statusBar().showMessage("attention view needs an MTSA engine", 6000)
            return
        self.explained = {**result, "point": request.point}
        self.show()

    def show(self) -> None:
        e = self.explained
        if e is None or not self.w.actions_.attention.isChecked():
            return
        if self.w.actions_.temperature.isChecked():
            image, lo, hi = temperature_map(np.asarray(e["temperature"]))
            self._say(f"Learned temperature: {lo:.2f} (soft, blends) to {hi:.2f} (sharp, copies).")
        else:
            image = attention_heatmap(np.asarray(e["attention"]))
            x, y = e["point"]
            self._say(f"Bright = where pixel ({x}, {y}) borrowed from.")
        self.w.canvas.set_heatmap(image, e["point"])
