"""Canvas, tools and undo driven by synthetic Qt events (offscreen)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QEnterEvent, QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.core.names import stroke_width_for
from app.core.settings import load_settings
from app.ui import dialogs
from app.ui.main_window import MainWindow

LEFT = Qt.MouseButton.LeftButton
NOMOD = Qt.KeyboardModifier.NoModifier


def open_window_on(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rgb: np.ndarray,
                   name: str = "pic.png") -> MainWindow:
    """A shown 900 x 700 editor (Telea on the CPU) with ``rgb`` opened from a PNG."""
    monkeypatch.setenv("TEMPERA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TEMPERA_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(dialogs, "ask_unsaved", lambda *a: "discard")  # teardown closes
    settings = load_settings()
    settings.engine, settings.device = "telea", "cpu"
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    qtbot.waitExposed(w)
    path = tmp_path / name
    Image.fromarray(rgb).save(path)
    assert w.files.open_path(path)
    return w


@pytest.fixture
def window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    rgb = np.random.default_rng(3).integers(0, 256, (150, 200, 3), dtype=np.uint8)
    return open_window_on(qtbot, tmp_path, monkeypatch, rgb)


def send_mouse(widget, kind: QEvent.Type, pos: QPointF, button=LEFT, buttons=LEFT, mods=NOMOD) -> None:
    QApplication.sendEvent(widget, QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, mods))


def drag(canvas, points: list[tuple[float, float]], mods=NOMOD) -> None:
    """A real press-move-release drag along image-pixel points."""
    wp = [canvas.to_widget(x + 0.5, y + 0.5) for x, y in points]
    send_mouse(canvas, QEvent.Type.MouseButtonPress, wp[0], mods=mods)
    for p in wp[1:]:
        send_mouse(canvas, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, LEFT, mods)
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, wp[-1], LEFT, Qt.MouseButton.NoButton, mods)


def test_mouse_drag_paints_mask_and_undo_restores_exactly(window: MainWindow) -> None:
    doc, canvas = window.doc, window.canvas
    window.tools.set_brush_size(9)
    drag(canvas, [(20, 30), (60, 30), (100, 80)])
    assert doc.mask[30, 40] and doc.mask[30, 20] and doc.mask[80, 100]
    assert not doc.mask[140, 190]
    painted = doc.mask.copy()
    assert window.undo_stack.count() == 1  # one drag = one step
    assert "*" in window.windowTitle()
    window.actions_.undo.trigger()
    assert not doc.mask.any()
    window.actions_.redo.trigger()
    assert np.array_equal(doc.mask, painted)


def test_sketch_pen_matches_training_strokes_and_grows_hole(window: MainWindow) -> None:
    doc = window.doc
    window.actions_.tool_sketch.trigger()
    assert window.tools.tool == "sketch"
    assert "grow the hole" in window.statusBar().currentMessage()
    size = window.tools.brush_size
    window.actions_.bigger.trigger()  # ] with the pen: it sizes the brushes, and says so
    assert window.tools.brush_size > size and "sketch pen's width is set by the photo's size" in \
        window.statusBar().currentMessage()
    drag(window.canvas, [(30, 70), (170, 70)])
    width = stroke_width_for(doc.size_hw)
    ref = np.zeros(doc.size_hw, np.uint8)
    cv2.line(ref, (30, 70), (170, 70), 255, width, cv2.LINE_8)  # how sketch.py draws
    assert np.array_equal(doc.sketch, ref)
    assert set(np.unique(doc.sketch)) <= {0, 255}
    assert doc.mask[doc.sketch > 0].all()  # the hole covers the stroke
    margin = window.tools.hole_margin
    assert doc.mask[70 - margin, 100] and not doc.mask[70 - margin - width - 2, 100]
    assert "The hole grew by" in window.statusBar().currentMessage()
    window.actions_.undo.trigger()  # stroke and hole growth are one step
    assert not doc.sketch.any() and not doc.mask.any()


def test_eraser_works_on_the_active_layer(window: MainWindow) -> None:
    doc = window.doc
    window.actions_.tool_rect.trigger()
    drag(window.canvas, [(10, 10), (80, 60)])
    assert doc.mask[10:61, 10:81].all() and doc.mask.sum() == 71 * 51
    window.actions_.tool_sketch.trigger()
    drag(window.canvas, [(100, 100), (150, 100)])
    window.actions_.tool_eraser.trigger()
    assert window.tools.active_layer == "sketch"  # the last drawing tool decides
    window.tools.set_brush_size(30)
    drag(window.canvas, [(90, 100), (160, 100)])
    assert not doc.sketch.any()
    assert doc.mask[30, 30]  # the mask was not touched
    window.panel.mask_radio.setChecked(True)
    drag(window.canvas, [(10, 30), (80, 30)])
    assert not doc.mask[30, 40]


def test_rectangle_lasso_and_alt_subtracts(window: MainWindow) -> None:
    doc = window.doc
    window.actions_.tool_lasso.trigger()
    drag(window.canvas, [(20, 20), (120, 20), (120, 120), (20, 120)])
    assert doc.mask[70, 70] and not doc.mask[10, 10]
    window.actions_.tool_rect.trigger()
    drag(window.canvas, [(50, 50), (90, 90)], mods=Qt.KeyboardModifier.AltModifier)
    assert not doc.mask[70, 70] and doc.mask[30, 30]
    assert window.undo_stack.count() == 2
    before = doc.mask.copy()
    drag(window.canvas, [(150, 150), (151, 151)])  # a click with the rectangle: nothing, no undo step
    assert window.undo_stack.count() == 2 and np.array_equal(doc.mask, before)


@pytest.mark.parametrize("tool, layer", [("tool_mask", "mask"), ("tool_rect", "mask"), ("tool_sketch", "sketch")])
def test_painting_on_a_hidden_layer_shows_it(window: MainWindow, tool: str, layer: str) -> None:
    getattr(window.actions_, tool).trigger()
    show = getattr(window.actions_, f"show_{layer}")
    show.setChecked(False)  # Shift+M / Shift+K
    drag(window.canvas, [(20, 20), (60, 50)])
    assert show.isChecked() and getattr(window.canvas, f"show_{layer}")
    said = window.statusBar().currentMessage()
    if layer == "sketch":  # the stroke outside a hole grew one: that news comes after
        assert said.startswith("The hole grew by")
    else:
        assert said.startswith(f"Showing the {layer} you are painting on (Shift+M hides it)")


def test_a_tool_s_note_goes_when_another_tool_is_chosen(window: MainWindow) -> None:
    window.actions_.tool_protect.trigger()
    assert window.statusBar().currentMessage().startswith("Paint areas no fill may copy from")
    window.actions_.tool_lasso.trigger()
    assert window.statusBar().currentMessage() == ""
    window.statusBar().showMessage("Saved x.png")
    window.actions_.tool_rect.trigger()  # other news stays
    assert window.statusBar().currentMessage() == "Saved x.png"


def test_brush_size_keys(window: MainWindow, qtbot) -> None:
    window.tools.set_brush_size(40)
    window.actions_.bigger.trigger()
    assert window.tools.brush_size > 40 and window.panel.size_spin.value() == window.tools.brush_size
    for _ in range(6):
        window.actions_.bigger.trigger()
    for _ in range(7):  # as many steps down as up give the size back
        window.actions_.smaller.trigger()
    assert window.tools.brush_size == 40
    for _ in range(40):
        window.actions_.smaller.trigger()
    assert window.tools.brush_size == 1
    shortcuts = [s.toString() for s in window.actions_.bigger.shortcuts()]
    assert shortcuts == ["]"] and window.actions_.smaller.shortcut().toString() == "["


def test_return_in_a_number_box_gives_the_keys_back_to_the_photo(window: MainWindow, qtbot) -> None:
    window.show()
    qtbot.waitExposed(window)
    for spin in (window.panel.size_spin, window.panel.step_spin, window.panel.feather_spin):
        spin.setFocus()
        qtbot.waitUntil(spin.hasFocus)
        qtbot.keyClick(spin, Qt.Key.Key_Return)
        assert window.canvas.hasFocus(), spin.toolTip()


def test_the_pointer_back_on_the_photo_gives_the_keys_back_and_keeps_what_was_typed(window: MainWindow,
                                                                                     qtbot) -> None:
    window.show()
    qtbot.waitExposed(window)
    spin = window.panel.size_spin
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin, "57")  # typed, no Return
    window.tools.set_tool("lasso")
    qtbot.keyClick(spin, Qt.Key.Key_B)  # into the box: no tool key while it has the focus
    assert window.tools.tool == "lasso"
    QApplication.sendEvent(window.canvas, QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5)))
    assert window.canvas.hasFocus()
    assert spin.value() == 57 and window.tools.brush_size == 57  # committed as it lost the focus
    qtbot.keyClick(window.canvas, Qt.Key.Key_B)
    assert window.tools.tool == "mask"  # B: the mask brush


def test_the_pixel_readout_follows_a_scroll_or_zoom_under_a_still_cursor(window: MainWindow) -> None:
    canvas = window.canvas
    w, h = window.doc.size_wh
    canvas.zoom_to(4.0, canvas.to_widget(w / 2, h / 2))
    pos = canvas.to_widget(w / 2, h / 2)
    send_mouse(canvas, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    before = window.status.pos.text()
    x, y = (int(v) for v in canvas.to_image(pos))
    assert before == f"{x}, {y}"
    wheel = QWheelEvent(pos, canvas.mapToGlobal(pos), QPoint(), QPoint(0, -120), Qt.MouseButton.NoButton,
                        NOMOD, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas, wheel)  # scrolls down: another pixel under the cursor
    x, y = (int(v) for v in canvas.to_image(pos))
    after = window.status.pos.text()
    assert after == f"{x}, {y}" and after != before


def test_a_small_photo_opens_at_100_percent_and_ctrl_0_fits_it(window: MainWindow) -> None:
    canvas = window.canvas
    assert canvas.scale == 1.0  # 200 x 150 in a larger view: not enlarged on opening
    window.actions_.fit.trigger()  # Ctrl+0
    assert canvas.scale > 1.5
    canvas.resize(canvas.width() + 40, canvas.height() + 30)  # a fit keeps fitting
    assert canvas.scale == pytest.approx(min((canvas.width() - 16) / 200, (canvas.height() - 16) / 150))


def test_ctrl_wheel_zooms_around_the_cursor(window: MainWindow) -> None:
    canvas = window.canvas
    pos = QPointF(300, 200)
    before = canvas.to_image(pos)
    scale = canvas.scale
    wheel = QWheelEvent(pos, canvas.mapToGlobal(pos), QPoint(), QPoint(0, 120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas, wheel)
    assert canvas.scale > scale
    after = canvas.to_image(pos)
    assert after == pytest.approx(before, abs=1e-6)
    window.actions_.actual.trigger()
    assert canvas.scale == 1.0
    window.actions_.fit.trigger()
    assert canvas.scale * window.doc.width <= canvas.width()


def test_middle_button_pans(window: MainWindow) -> None:
    canvas = window.canvas
    start = QPointF(canvas.offset)
    mid = Qt.MouseButton.MiddleButton
    send_mouse(canvas, QEvent.Type.MouseButtonPress, QPointF(100, 100), mid, mid)
    send_mouse(canvas, QEvent.Type.MouseMove, QPointF(130, 90), Qt.MouseButton.NoButton, mid)
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, QPointF(130, 90), mid, Qt.MouseButton.NoButton)
    assert canvas.offset - start == QPointF(30, -10)
    assert not window.doc.mask.any()  # panning never paints


def test_hold_tab_shows_the_original(window: MainWindow) -> None:
    window.activateWindow()
    QApplication.sendEvent(window.canvas, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Tab, NOMOD))
    assert window.canvas.show_original
    QApplication.sendEvent(window.canvas, QKeyEvent(QEvent.Type.KeyRelease, Qt.Key.Key_Tab, NOMOD))
    assert not window.canvas.show_original


def test_overlay_hidden_and_canvas_renders_visible_region(window: MainWindow) -> None:
    doc, canvas = window.doc, window.canvas
    window.actions_.tool_rect.trigger()
    drag(canvas, [(0, 0), (199, 149)])
    shown = canvas.grab().toImage()
    centre = canvas.to_widget(100, 75).toPoint()
    tinted = shown.pixelColor(centre)
    window.actions_.show_mask.setChecked(False)
    plain = canvas.grab().toImage().pixelColor(centre)
    r, g, b = doc.image[75, 100]
    assert (plain.red(), plain.green(), plain.blue()) == pytest.approx((r, g, b), abs=2)
    assert tinted != plain


def test_protect_has_its_own_show_toggle(window: MainWindow, qtbot) -> None:
    doc, canvas = window.doc, window.canvas
    window.actions_.tool_protect.trigger()
    drag(canvas, [(20, 20), (190, 20)])
    assert doc.protect.any()
    centre = canvas.to_widget(30, 20).toPoint()  # far from the brush's outline, which follows the mouse
    green = canvas.grab().toImage().pixelColor(centre)
    QTest.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ShiftModifier)  # hides the hole overlay only
    assert not canvas.show_mask and canvas.show_protect
    assert canvas.grab().toImage().pixelColor(centre) == green
    QTest.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    assert not window.actions_.show_protect.isChecked() and not canvas.show_protect
    r, g, b = doc.image[20, 30]
    plain = canvas.grab().toImage().pixelColor(centre)
    assert (plain.red(), plain.green(), plain.blue()) == pytest.approx((r, g, b), abs=2) and plain != green
    window.actions_.tool_protect.trigger()  # choosing the brush shows what it paints
    assert canvas.show_protect


def test_nothing_is_painted_on_the_original_side_of_the_split(window: MainWindow) -> None:
    doc, canvas = window.doc, window.canvas
    window.actions_.fit.trigger()  # Ctrl+0: the small photo fills the view, both sides of the split on it
    window.actions_.split.setChecked(True)
    canvas.split_pos = 0.5
    left_x = canvas.to_image(QPointF(canvas.split_px() / 2, 0))[0]
    right_x = canvas.to_image(QPointF(canvas.split_px() * 1.5, 0))[0]
    window.tools.set_brush_size(9)
    drag(canvas, [(left_x, 40), (left_x, 80)])
    assert not doc.mask.any() and "original" in window.statusBar().currentMessage()
    drag(canvas, [(right_x, 40), (right_x, 80)])
    assert doc.mask.any()
    line_x = canvas.to_image(QPointF(canvas.split_px(), 0))[0]
    drag(canvas, [(right_x, 100), (left_x, 100)])  # from the right, across the line: stops at it
    cols = np.nonzero(doc.mask[:, : int(line_x)].any(axis=0))[0]
    assert doc.mask[100, int(right_x)] and not cols.size, (line_x, cols)


def test_fit_follows_window_resizes_until_the_user_zooms(window: MainWindow, qtbot) -> None:
    canvas, doc = window.canvas, window.doc
    window.resize(500, 400)
    qtbot.waitUntil(lambda: canvas.width() < 400)
    assert canvas.scale * doc.width <= canvas.width() and canvas.scale * doc.height <= canvas.height()
    window.actions_.actual.trigger()
    window.resize(900, 700)
    qtbot.waitUntil(lambda: canvas.width() > 500)
    assert canvas.scale == 1.0  # a chosen zoom survives resizing


def test_space_drag_pans_and_escape_abandons_a_lasso(window: MainWindow) -> None:
    canvas = window.canvas
    start = QPointF(canvas.offset)
    QApplication.sendEvent(canvas, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Space, NOMOD))
    drag(canvas, [(10, 10), (30, 20)])
    QApplication.sendEvent(canvas, QKeyEvent(QEvent.Type.KeyRelease, Qt.Key.Key_Space, NOMOD))
    assert canvas.offset != start and not window.doc.mask.any()
    window.actions_.tool_lasso.trigger()
    pts = [(20.0, 20.0), (80.0, 20.0), (80.0, 80.0)]
    send_mouse(canvas, QEvent.Type.MouseButtonPress, canvas.to_widget(*pts[0]))
    for p in pts[1:]:
        send_mouse(canvas, QEvent.Type.MouseMove, canvas.to_widget(*p), Qt.MouseButton.NoButton, LEFT)
    window.actions_.cancel.trigger()  # Esc
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, canvas.to_widget(20, 80), LEFT, Qt.MouseButton.NoButton)
    assert not window.doc.mask.any() and window.undo_stack.count() == 0


def test_a_hole_over_the_whole_photo_is_refused_with_a_message(window: MainWindow) -> None:
    doc = window.doc
    window.actions_.invert_mask.trigger()  # nothing was masked: now everything is
    assert doc.mask.all()
    before = doc.image.copy()
    window.fill()
    assert "covers the whole image" in window.statusBar().currentMessage()
    assert not window.inference.filling and np.array_equal(doc.image, before)


def test_the_position_readout_names_pixels_of_this_photo_only(window: MainWindow, tmp_path: Path) -> None:
    canvas, pos = window.canvas, window.status.pos
    send_mouse(canvas, QEvent.Type.MouseMove, canvas.to_widget(50.5, 40.5), Qt.MouseButton.NoButton,
               Qt.MouseButton.NoButton)
    assert pos.text() == "50, 40"
    send_mouse(canvas, QEvent.Type.MouseMove, canvas.to_widget(250.5, 40.5), Qt.MouseButton.NoButton,
               Qt.MouseButton.NoButton)  # right of the 200-px photo
    assert pos.text() == ""
    send_mouse(canvas, QEvent.Type.MouseMove, canvas.to_widget(10.5, 10.5), Qt.MouseButton.NoButton,
               Qt.MouseButton.NoButton)
    assert pos.text() == "10, 10"
    other = tmp_path / "other.png"
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(other)
    assert window.files.open_path(other)
    assert pos.text() == ""  # not the last photo's position


def test_the_side_panel_keeps_its_width_when_it_starts_to_scroll(window: MainWindow, qtbot) -> None:
    window.resize(1280, 900)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)
    wide = window.panel.width()
    window.resize(1280, 380)  # too short for the panel: it scrolls
    scroll = window.panel.parentWidget().parentWidget()
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() > 0)
    qtbot.wait(50)
    assert window.panel.width() == wide  # nothing in it moved sideways


def test_the_zoom_keys_step_through_the_usual_zooms(window: MainWindow) -> None:
    canvas, a = window.canvas, window.actions_
    a.actual.trigger()  # 100 %
    seen = []
    for _ in range(4):
        a.zoom_in.trigger()
        seen.append(round(canvas.scale * 100))
    assert seen == [150, 200, 300, 400]
    canvas.zoom_to(3.81, canvas.rect().center())  # from between two steps (Ctrl+wheel)
    a.zoom_out.trigger()
    assert canvas.scale == 3.0
    for _ in range(3):
        a.zoom_out.trigger()
    assert canvas.scale == 1.0


def test_f7_hides_the_side_panel_for_more_photo(window: MainWindow, qtbot) -> None:
    window.resize(900, 600)
    window.show()
    qtbot.waitExposed(window)
    a = window.actions_
    assert [s.toString() for s in a.show_panel.shortcuts()] == ["F7"] and a.show_panel.isChecked()
    narrow = window.canvas.width()
    a.show_panel.trigger()  # F7
    qtbot.waitUntil(lambda: window.canvas.width() > narrow + 200)
    assert not window.dock.isVisible()
    a.grow_mask.trigger()  # the panel's settings still hold while it is hidden
    a.show_panel.trigger()
    qtbot.waitUntil(lambda: window.dock.isVisible() and window.canvas.width() == narrow)


def test_protected_areas_show_green_stripes_even_over_red(qtbot, tmp_path: Path, monkeypatch) -> None:
    red = np.zeros((150, 200, 3), np.uint8)
    red[..., 0] = 210  # a red shirt: a translucent green tint alone turned it brown
    window = open_window_on(qtbot, tmp_path, monkeypatch, red)
    window.doc.protect[40:110, 40:160] = True
    window.canvas.set_document(window.doc)
    shot = window.canvas.grab().toImage()
    a, b = window.canvas.to_widget(50, 50).toPoint(), window.canvas.to_widget(150, 100).toPoint()
    colours = [shot.pixelColor(x, y) for x in range(a.x(), b.x(), 3) for y in range(a.y(), b.y(), 3)]
    green = sum(c.green() > c.red() for c in colours)
    assert 0.15 * len(colours) < green < 0.7 * len(colours)  # stripes: green over the red, and red between
    outside = shot.pixelColor(window.canvas.to_widget(10, 10).toPoint())
    assert (outside.red(), outside.green()) == (210, 0)  # nothing drawn where nothing is protected
