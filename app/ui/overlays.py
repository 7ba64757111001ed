"""What the canvas draws over the photo: tool outlines, the attention point, the brush
footprint and the before/after split line. Drawing only; the canvas owns the state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

if TYPE_CHECKING:
    from app.ui.canvas import Canvas

SPLIT_GRAB_PX = 6  # the split line can be grabbed this far either side


def draw_decorations(c: Canvas, p: QPainter) -> None:
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    tools = c.tools
    if tools.anchor is not None and tools.points:
        (x0, y0), (x1, y1) = tools.anchor, tools.points[-1]
        _dashed(p).drawRect(QRectF(c.to_widget(min(x0, x1), min(y0, y1)),
                                   c.to_widget(max(x0, x1) + 1, max(y0, y1) + 1)))
    elif tools.tool == "lasso" and len(tools.points) > 1:
        path = QPainterPath(c.to_widget(*tools.points[0]))
        for pt in tools.points[1:]:
            path.lineTo(c.to_widget(*pt))
        _dashed(p).drawPath(path)
    if c.fill_outline is not None and c.attention_mode and not c.show_original:
        draw_fill_outline(c, p)
    if c.heat_point is not None:
        centre = c.to_widget(c.heat_point[0] + 0.5, c.heat_point[1] + 0.5)
        p.setPen(QPen(QColor("white"), 2))
        p.drawEllipse(centre, 7, 7)
        p.setPen(QPen(QColor("black"), 1))
        p.drawEllipse(centre, 9, 9)
    if c.split and not c.show_original:
        draw_split_line(c, p)
    if c.show_original:  # Tab held: say what is shown, as the split view's labels do
        _label(p, "Original (release Tab for the result)", c.width() / 2, centred=True)
    d = tools.outline_diameter()
    if c._cursor is not None and d is not None and not c.attention_mode and c._pan_from is None \
            and not c.split_dragging:
        r = max(1.5, d * c.scale / 2)
        p.setPen(QPen(QColor(0, 0, 0, 200), 3))
        p.drawEllipse(c._cursor, r, r)
        p.setPen(QPen(QColor(255, 255, 255, 230), 1))
        p.drawEllipse(c._cursor, r, r)


def draw_fill_outline(c: Canvas, p: QPainter) -> None:
    """The attention viewer's clickable area, the last fill's hole: white dashes over a dark
    line, one device pixel wide at any zoom, visible on light and dark photos."""
    p.save()
    p.translate(c.offset)
    p.scale(c.scale, c.scale)
    p.setBrush(Qt.BrushStyle.NoBrush)
    for color, style, width in ((QColor(0, 0, 0, 170), Qt.PenStyle.SolidLine, 2.5),
                                (QColor("white"), Qt.PenStyle.DashLine, 1.2)):
        pen = QPen(color, width, style)
        pen.setCosmetic(True)
        p.setPen(pen)
        p.drawPath(c.fill_outline)
    p.restore()


def draw_split_line(c: Canvas, p: QPainter) -> None:
    """A vertical line with a round grip, "Original" and "Result" labels either side."""
    x = c.split_px()
    h = c.height()
    p.setPen(QPen(QColor(0, 0, 0, 160), 3))
    p.drawLine(QPointF(x, 0), QPointF(x, h))
    p.setPen(QPen(QColor("white"), 1.5))
    p.drawLine(QPointF(x, 0), QPointF(x, h))
    grip = QPointF(x, h / 2)
    p.setBrush(QColor(30, 30, 34, 220))
    p.drawEllipse(grip, 11, 11)
    p.setBrush(Qt.BrushStyle.NoBrush)
    for dx in (-4, 4):  # a double arrow: drag me sideways
        sign = -1 if dx < 0 else 1
        path = QPainterPath(grip + QPointF(dx, -4))
        path.lineTo(grip + QPointF(dx + 3 * sign, 0))
        path.lineTo(grip + QPointF(dx, 4))
        p.drawPath(path)
    for text, left in (("Original", True), ("Result", False)):
        _label(p, text, x - 12 if left else x + 12, right_aligned=left)


def _label(p: QPainter, text: str, x: float, *, right_aligned: bool = False, centred: bool = False) -> None:
    """White words on a dark box near the top of the canvas: ending at ``x``, starting at
    it, or centred on it."""
    metrics = p.fontMetrics()
    tw = metrics.horizontalAdvance(text)
    tx = x - tw if right_aligned else x - tw / 2 if centred else x
    box = QRectF(tx - 5, 8, tw + 10, metrics.height() + 4)
    p.fillRect(box, QColor(0, 0, 0, 150))
    p.setPen(QColor(235, 235, 240))
    p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)


def _dashed(p: QPainter) -> QPainter:
    pen = QPen(QColor("white"), 1.5, Qt.PenStyle.DashLine)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    return p
