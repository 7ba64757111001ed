"""numpy <-> QImage without copies where it matters.

``region_view`` wraps a rectangle of a C-contiguous numpy array as a QImage that *shares*
its memory (the row stride is the full image's), so drawing the visible part of a 24 MP
photo never copies the photo. The caller must keep the array alive while the QImage is
used (paintEvent locals do).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage

from app.core.brush import Box

Format = QImage.Format


def region_view(array: np.ndarray, box: Box, fmt: QImage.Format) -> QImage:
    """A QImage over ``array[y0:y1, x0:x1]`` sharing memory. ``array`` must be contiguous."""
    if not array.flags.c_contiguous:
        raise ValueError("region_view needs a C-contiguous array")
    x0, y0, x1, y1 = box
    channels = 1 if array.ndim == 2 else array.shape[2]
    row = array.shape[1] * channels * array.itemsize
    flat = array.reshape(-1).view(np.uint8)
    start = y0 * row + x0 * channels * array.itemsize
    return QImage(memoryview(flat[start:]), x1 - x0, y1 - y0, row, fmt)


def rgb_region(array: np.ndarray, box: Box) -> QImage:
    return region_view(array, box, Format.Format_RGB888)


def indexed_region(array: np.ndarray, box: Box, table: list[int]) -> QImage:
    """An 8-bit layer drawn through a colour table (index -> ARGB)."""
    img = region_view(array, box, Format.Format_Indexed8)
    img.setColorTable(table)
    return img


def rgba_image(array: np.ndarray) -> QImage:
    """A standalone (copied) QImage from an (H, W, 4) uint8 RGBA array."""
    h, w = array.shape[:2]
    data = np.ascontiguousarray(array)
    return QImage(data.data, w, h, w * 4, Format.Format_RGBA8888).copy()


def binary_table(color: QColor, opacity: float) -> list[int]:
    """Index 0 transparent, every other index the overlay colour (full-resolution mask)."""
    c = QColor(color)
    c.setAlphaF(opacity)
    return [0] + [c.rgba()] * 255


def ramp_table(color: QColor, opacity: float) -> list[int]:
    """Alpha grows with the index: coverage of a downsampled mask or sketch."""
    table = []
    for i in range(256):
        c = QColor(color)
        c.setAlphaF(opacity * i / 255.0)
        table.append(c.rgba())
    return table


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """Copy any QImage (clipboard, drop) into an (H, W, 3) uint8 RGB array."""
    img = image.convertToFormat(Format.Format_RGB888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()
