"""Object tool, mask refinement, protect brush, scrollbars, Ctrl+1 and the split view,
driven by synthetic Qt events (offscreen)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from app.core.autosave import AutosaveStore
from app.core.maskops import grow_mask, shrink_mask
from app.ui.main_window import MainWindow
from tests.test_select import scene
from tests.test_ui_editor import LEFT, drag, open_window_on, send_mouse

ALT = Qt.KeyboardModifier.AltModifier


def make_window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rgb: np.ndarray) -> MainWindow:
    return open_window_on(qtbot, tmp_path, monkeypatch, rgb, "scene.png")


@pytest.fixture
def disc_window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    rgb, disc = scene(320, 240, 150, 120, 50)
    return make_window(qtbot, tmp_path, monkeypatch, rgb), disc


def selected(window: MainWindow, qtbot) -> None:
    """Wait for the object tool's GrabCut (a background thread) and its queued result."""
    window.tools.selector.wait()
    qtbot.waitUntil(lambda: not window.tools.selector.busy, timeout=10_000)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def keys(action) -> list[str]:
    return [s.toString() for s in action.shortcuts()]


def test_object_tool_selects_a_disc_and_alt_drag_subtracts(disc_window, qtbot) -> None:
    window, disc = disc_window
    doc, a = window.doc, window.actions_
    assert keys(a.tool_object) == ["W"]
    a.tool_object.trigger()
    assert window.tools.tool == "object"
    drag(window.canvas, [(90, 60), (150, 120), (212, 182)])
    assert window.tools.selector.busy or window.undo_stack.count() == 1  # GrabCut runs in a thread
    selected(window, qtbot)
    assert iou(doc.mask, grow_mask(disc, 3)) > 0.9  # the disc, grown 3 px over its edge halo
    assert doc.mask[disc].mean() > 0.99
    said = window.statusBar().currentMessage()  # not a blank line once "Selecting…" is over
    assert said.startswith("Selected an object of ") and "Ctrl+Return fills it" in said
    assert window.undo_stack.count() == 1 and window.undo_stack.command(0).text() == "Object selection"
    chosen = doc.mask.copy()
    drag(window.canvas, [(90, 60), (212, 182)], mods=ALT)  # Alt-drag: the same object out
    selected(window, qtbot)
    assert doc.mask.sum() < 0.05 * chosen.sum()
    window.actions_.undo.trigger()
    assert np.array_equal(doc.mask, chosen)
    window.actions_.undo.trigger()
    assert not doc.mask.any()


def test_object_tool_click_selects_the_object_under_it(disc_window, qtbot) -> None:
    window, disc = disc_window
    window.actions_.tool_object.trigger()
    drag(window.canvas, [(160, 110)])  # press and release in place: a click
    selected(window, qtbot)
    assert iou(window.doc.mask, grow_mask(disc, 3)) > 0.9
    assert window.undo_stack.count() == 1


def test_object_tool_in_empty_space_says_so_and_a_stale_result_is_dropped(qtbot, tmp_path, monkeypatch) -> None:
    flat = np.full((120, 160, 3), 90, np.uint8)
    window = make_window(qtbot, tmp_path, monkeypatch, flat)
    window.actions_.tool_object.trigger()
    drag(window.canvas, [(20, 20), (60, 60)])
    selected(window, qtbot)
    assert not window.doc.mask.any() and window.undo_stack.count() == 0
    assert "No object found" in window.statusBar().currentMessage()
    rgb, _ = scene(320, 240, 150, 120, 50)
    drag(window.canvas, [(20, 20), (100, 100)])
    from app.core.document import Document

    window.set_document(Document(rgb))  # another photo before the cut comes back
    selected(window, qtbot)
    assert not window.doc.mask.any() and window.undo_stack.count() == 0


def test_grow_shrink_invert_are_undo_steps(disc_window) -> None:
    window, _ = disc_window
    doc, a = window.doc, window.actions_
    assert (keys(a.grow_mask), keys(a.shrink_mask), keys(a.invert_mask)) == (["Alt+]"], ["Alt+["], ["Ctrl+Shift+I"])
    edit = [x.text() for x in window.menuBar().actions()[1].menu().actions()]
    assert {"Grow mask", "Shrink mask", "Invert mask"} <= set(edit)
    assert window.panel.grow_step() == 4
    a.shrink_mask.trigger()  # nothing to shrink: said, and no undo step
    assert window.undo_stack.count() == 0
    assert window.statusBar().currentMessage() == "The mask is empty: nothing to shrink"
    a.tool_rect.trigger()
    drag(window.canvas, [(100, 80), (160, 140)])
    start = doc.mask.copy()
    a.grow_mask.trigger()
    assert np.array_equal(doc.mask, grow_mask(start, 4))
    window.panel.step_spin.setValue(10)
    a.shrink_mask.trigger()
    assert np.array_equal(doc.mask, shrink_mask(grow_mask(start, 4), 10))
    a.invert_mask.trigger()
    assert np.array_equal(doc.mask, ~shrink_mask(grow_mask(start, 4), 10))
    assert [window.undo_stack.command(i).text() for i in range(4)] == \
        ["Rectangle mask", "Grow mask", "Shrink mask", "Invert mask"]
    for _ in range(3):
        a.undo.trigger()
    assert np.array_equal(doc.mask, start)


def test_protect_brush_paints_its_own_layer_in_a_third_colour(disc_window, tmp_path: Path) -> None:
    window, _ = disc_window
    doc, a, canvas = window.doc, window.actions_, window.canvas
    a.fit.trigger()  # Ctrl+0: the small photo enlarged, as these colours were measured
    assert keys(a.tool_protect) == ["P"]
    a.tool_protect.trigger()
    window.tools.set_brush_size(11)
    def seen():  # the mean of a 9 x 9 block of the screen there (the protect layer is striped)
        image, c = canvas.grab().toImage(), canvas.to_widget(40.5, 40.5).toPoint()
        block = [image.pixelColor(c.x() + dx, c.y() + dy) for dx in range(-4, 5) for dy in range(-4, 5)]
        return [sum(getattr(q, ch)() for q in block) / len(block) for ch in ("red", "green", "blue")]

    plain = seen()
    drag(canvas, [(20, 40), (80, 40)])
    assert doc.protect[40, 50] and not doc.mask.any() and not doc.sketch.any()
    assert window.panel.layer_radios["protect"].isChecked()
    shown = seen()
    # drawn in green, not the mask's red or the sketch's cyan
    assert shown[1] > plain[1] + 15 and shown[0] < plain[0] - 15 and shown[2] <= plain[2]
    snap = doc.snapshot(1)
    assert np.array_equal(snap.protect, doc.protect) and snap.protect is not doc.protect
    window.autosave.write_now()
    window.autosave.flush()
    state = window.autosave.store.read()
    assert state is not None and np.array_equal(state.protect, doc.protect)
    a.tool_eraser.trigger()
    assert window.tools.active_layer == "protect"  # the eraser erases the active layer
    drag(canvas, [(20, 40), (80, 40)])
    assert not doc.protect.any()
    a.undo.trigger()
    assert doc.protect[40, 50]
    a.clear_protect.trigger()  # Edit > Clear protect: one undo step
    assert not doc.protect.any() and a.clear_protect in window.menuBar().actions()[1].menu().actions()
    a.undo.trigger()
    assert doc.protect[40, 50]
    a.undo.trigger()
    assert not doc.protect.any()


def test_autosave_without_protect_still_reads(tmp_path: Path) -> None:
    from app.core.autosave import AutosaveState

    store = AutosaveStore(tmp_path)
    store.write(AutosaveState(None, np.zeros((4, 5), bool), np.zeros((4, 5), np.uint8), None, 0.0))
    state = store.read()
    assert state is not None and state.protect is not None and not state.protect.any()


@pytest.fixture
def big_window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    rgb = np.random.default_rng(5).integers(0, 256, (1500, 2000, 3), dtype=np.uint8)
    return make_window(qtbot, tmp_path, monkeypatch, rgb)


def wheel(canvas, pos: QPointF, dy: int, mods=Qt.KeyboardModifier.ControlModifier) -> None:
    QApplication.sendEvent(canvas, QWheelEvent(pos, canvas.mapToGlobal(pos), QPoint(), QPoint(0, dy),
                                               Qt.MouseButton.NoButton, mods, Qt.ScrollPhase.NoScrollPhase, False))


def test_scrollbars_appear_when_the_photo_is_larger_than_the_view(big_window: MainWindow, qtbot) -> None:
    window, canvas, frame = big_window, big_window.canvas, big_window.frame
    assert not frame.hbar.isVisible() and not frame.vbar.isVisible()  # fitted
    assert not frame.corner.isVisible()
    window.actions_.actual.trigger()
    qtbot.waitUntil(lambda: frame.hbar.isVisible() and frame.vbar.isVisible())
    assert frame.corner.isVisible()  # the square where they meet shows no photo
    assert frame.corner.geometry().topLeft() == QPoint(frame.vbar.x(), frame.hbar.y())
    before = canvas.to_image(QPointF(canvas.width() / 2, canvas.height() / 2))
    frame.hbar.setValue(frame.hbar.value() + 300)
    after = canvas.to_image(QPointF(canvas.width() / 2, canvas.height() / 2))
    assert after[0] == pytest.approx(before[0] + 300, abs=1) and after[1] == pytest.approx(before[1], abs=1)
    frame.vbar.setValue(frame.vbar.maximum())  # the bottom edge of the photo at the view's bottom
    assert canvas.to_image(QPointF(0, canvas.height()))[1] == pytest.approx(1500, abs=1)
    canvas.scroll_to(0, 0)  # panning moves the bars too
    assert frame.hbar.value() == frame.hbar.minimum()


def test_ctrl1_after_zooming_out_shows_the_photo(big_window: MainWindow) -> None:
    canvas = big_window.canvas
    corner = QPointF(5, 5)
    for _ in range(12):  # far out, around a corner of the widget: the photo drifts away
        wheel(canvas, corner, -120)
    cx, cy = canvas.to_image(QPointF(canvas.width() / 2, canvas.height() / 2))
    assert 0 <= cx <= 2000 and 0 <= cy <= 1500  # never lost off-canvas
    canvas._cursor = None  # the cursor is not over the canvas: the centre is kept
    big_window.actions_.actual.trigger()
    assert canvas.scale == 1.0
    cx2, cy2 = canvas.to_image(QPointF(canvas.width() / 2, canvas.height() / 2))
    assert (cx2, cy2) == pytest.approx((1000, 750), abs=1)  # it was all in view: its centre
    canvas.scroll_to(1700, 300)  # now zoomed in: the pixel at the centre is kept
    big_window.actions_.zoom_in.trigger()
    big_window.actions_.actual.trigger()
    assert canvas.to_image(QPointF(canvas.width() / 2, canvas.height() / 2)) == pytest.approx((1700, 300), abs=1)


def test_ctrl1_keeps_the_pixel_under_the_cursor(big_window: MainWindow) -> None:
    canvas = big_window.canvas
    pos = QPointF(canvas.width() * 0.3, canvas.height() * 0.6)
    send_mouse(canvas, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    under = canvas.to_image(pos)
    big_window.actions_.actual.trigger()
    assert canvas.scale == 1.0 and canvas.to_image(pos) == pytest.approx(under, abs=1e-6)


def test_split_view_shows_original_left_and_result_right(disc_window) -> None:
    window, _ = disc_window
    doc, canvas, a = window.doc, window.canvas, window.actions_
    assert keys(a.split) == ["\\"] and a.split.isCheckable()
    assert "Before/after split" in [x.text() for x in window.menuBar().actions()[3].menu().actions()]
    doc.set_layer("image", 255 - doc.image)  # a "result" that differs everywhere
    a.split.trigger()
    assert canvas.split
    y = 120
    left, right = canvas.to_widget(60.5, y + 0.5).toPoint(), canvas.to_widget(260.5, y + 0.5).toPoint()
    assert left.x() < canvas.split_px() < right.x()
    img = canvas.grab().toImage()
    for point, array in ((left, doc.original), (right, doc.image)):
        c = img.pixelColor(point)
        ix, iy = (int(v) for v in canvas.to_image(QPointF(point)))
        assert (c.red(), c.green(), c.blue()) == pytest.approx(tuple(array[iy, ix]), abs=2)
    # drag the line to the right of `right`: both points now show the original
    x = canvas.split_px()
    send_mouse(canvas, QEvent.Type.MouseButtonPress, QPointF(x, 50))
    send_mouse(canvas, QEvent.Type.MouseMove, QPointF(right.x() + 20, 50), Qt.MouseButton.NoButton, LEFT)
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, QPointF(right.x() + 20, 50), LEFT, Qt.MouseButton.NoButton)
    assert canvas.split_px() == pytest.approx(right.x() + 20, abs=1)
    assert not doc.mask.any()  # dragging the line never paints
    c = canvas.grab().toImage().pixelColor(right)
    ix, iy = (int(v) for v in canvas.to_image(QPointF(right)))
    assert (c.red(), c.green(), c.blue()) == pytest.approx(tuple(doc.original[iy, ix]), abs=2)
    a.split.trigger()
    assert not canvas.split and window.undo_stack.count() == 0  # a view, not an edit



def test_fill_without_feather_leaves_the_outside_untouched(disc_window, qtbot) -> None:
    window, _ = disc_window
    doc = window.doc
    window.panel.feather_check.setChecked(False)
    assert window.panel.feather_px() == 0
    window.actions_.tool_rect.trigger()
    drag(window.canvas, [(100, 80), (160, 140)])
    hole, before = doc.mask.copy(), doc.image.copy()
    with qtbot.waitSignal(window.inference.fill_done, timeout=60_000):
        window.actions_.fill.trigger()
    assert np.array_equal(doc.image[~hole], before[~hole])
    assert not np.array_equal(doc.image[hole], before[hole])


def test_grow_step_and_feather_are_remembered(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.settings import load_settings as reload

    rgb = np.full((60, 80, 3), 128, np.uint8)
    window = open_window_on(qtbot, tmp_path, monkeypatch, rgb)
    assert window.panel.grow_step() == 4 and window.panel.feather_px() == 3  # the shipped defaults
    window.panel.step_spin.setValue(9)
    window.panel.feather_check.setChecked(False)
    window.close()
    saved = reload()
    assert (saved.grow_step, saved.feather_px) == (9, 0)
    again = open_window_on(qtbot, tmp_path, monkeypatch, rgb, "again.png")
    assert again.panel.grow_step() == 9 and again.panel.feather_px() == 0
    again.panel.feather_check.setChecked(True)
    assert again.panel.feather_px() == 3  # the width is kept for when feathering is back on


def test_a_selection_of_much_of_the_photo_is_said_as_a_share(disc_window) -> None:
    window, _disc = disc_window
    h, w = window.doc.mask.shape
    window._object_selected(int(0.45 * h * w), True)  # as a click whose guess ran into the background
    said = window.statusBar().currentMessage()
    assert said.startswith(f"Selected {int(0.45 * h * w):,} px, 45% of the photo") and "drag a box" in said
    window._object_selected(int(0.1 * h * w), True)
    assert window.statusBar().currentMessage().startswith("Selected an object of ")


def test_esc_or_another_tool_drops_an_object_selection_still_running(disc_window, qtbot, monkeypatch) -> None:
    import threading

    from app.ui import selector as selector_module

    window, _disc = disc_window
    real = selector_module.select_object
    release = threading.Event()

    def slow(*a, **k):  # GrabCut on a large photo: tens of seconds, not stoppable
        assert release.wait(10)
        return real(*a, **k)

    monkeypatch.setattr(selector_module, "select_object", slow)
    sel = window.tools.selector
    window.actions_.tool_object.trigger()
    drag(window.canvas, [(160, 110)])  # a click
    assert sel.busy
    window.actions_.cancel.trigger()  # Esc
    assert not sel.busy and window.statusBar().currentMessage() == "Object selection cancelled"
    window.actions_.tool_object.trigger()
    drag(window.canvas, [(160, 110)])  # another click, then another tool
    assert sel.busy
    window.actions_.tool_mask.trigger()
    assert not sel.busy
    release.set()
    sel.wait()
    qtbot.wait(50)  # the queued results arrive, and are dropped
    assert not window.doc.mask.any() and window.undo_stack.count() == 0 and not sel.busy
    window.actions_.tool_object.trigger()
    drag(window.canvas, [(160, 110)])  # a selection not cancelled still lands
    selected(window, qtbot)
    assert window.doc.mask.any()
