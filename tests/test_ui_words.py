"""Words a user understands: engine labels, the batch dialog's engine and skip-existing, the
grown hole shown, the attention viewer's legend and its words cleared when stale."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QMessageBox

from app.core.names import EDITOR_ENGINES, ENGINE_LABELS, ENGINE_NAMES
from app.core.settings import load_settings
from app.ui import dialogs
from app.ui.attention import FILL_UNDONE, OUTLINE_HINT
from app.ui.batch_dialog import BatchDialog
from app.ui.main_window import MainWindow
from app.ui.worker import Request
from tests.test_ui_batch import photos_and_mask

LABELS = ["Auto (best measured)", "Network", "Network + sketch", "Network + texture", "PatchMatch",
          "Telea (fast)", "Navier-Stokes (fast)"]


def make_window(qtbot, monkeypatch, engine: str = "telea", load: bool = True) -> MainWindow:
    monkeypatch.setattr(dialogs, "ask_unsaved", lambda *a: "discard")
    settings = load_settings()
    settings.engine, settings.device = engine, "cpu"
    w = MainWindow(settings, load_engine=load)
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    if load:
        qtbot.waitUntil(lambda: w.inference.engine is not None, timeout=60_000)
    return w


@pytest.fixture
def window(qtbot, monkeypatch) -> MainWindow:
    return make_window(qtbot, monkeypatch)


def _open(w: MainWindow, tmp_path: Path) -> None:
    rgb = np.random.default_rng(5).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "p.png")
    assert w.files.open_path(tmp_path / "p.png")


def _fill(w: MainWindow, qtbot, box=((20, 10), (40, 30))) -> None:
    w.tools.set_tool("rect")
    w.tools.press(box[0])
    w.tools.release(box[1])
    with qtbot.waitSignal(w.inference.fill_done, timeout=60_000):
        w.fill()


def test_engine_labels_are_defined_once_in_menu_order() -> None:
    assert EDITOR_ENGINES == ("auto", "mtsa", "mtsa-guided", "mtsa-texture", "patchmatch", "telea", "ns")
    assert [ENGINE_LABELS[n] for n in EDITOR_ENGINES] == LABELS
    assert "mtsa-const" in ENGINE_NAMES and "mtsa-const" not in EDITOR_ENGINES  # the CLI keeps it


def test_the_engine_list_reads_in_words_and_loads_by_name(window: MainWindow, qtbot) -> None:
    combo = window.panel.engine_combo
    assert [combo.itemText(i) for i in range(combo.count())] == LABELS
    assert combo.currentText() == "Telea (fast)"
    assert window.status.engine.text() == "Engine: Telea"  # the remark is in the list, not the status bar
    with qtbot.waitSignal(window.inference.engine_changed, timeout=60_000) as blocker:
        combo.setCurrentIndex(combo.findData("ns"))
    assert blocker.args[0].name == "ns" and window.settings.engine == "ns"
    assert window.status.engine.text() == "Engine: Navier-Stokes"


def test_the_ablation_is_not_offered_in_the_editor(qtbot, monkeypatch) -> None:
    w = make_window(qtbot, monkeypatch, engine="mtsa-const", load=False)
    assert w.settings.engine == "auto" and w.panel.engine_combo.currentData() == "auto"


def test_an_engine_that_cannot_load_says_so(window: MainWindow, qtbot, monkeypatch) -> None:
    errors: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: errors.append(text))
    combo = window.panel.engine_combo
    with qtbot.waitSignal(window.inference.engine_error, timeout=60_000):
        combo.setCurrentIndex(combo.findData("mtsa"))  # no checkpoints in tests
    assert len(errors) == 1 and "mtsa" in errors[0] and window.status.engine.text() == "Engine: none"


def test_a_sketch_stroke_that_grows_the_hole_shows_it(window: MainWindow, tmp_path: Path) -> None:
    _open(window, tmp_path)
    window.actions_.show_mask.setChecked(False)  # overlay hidden: the new hole would be invisible
    doc = window.doc
    window.tools.set_tool("sketch")
    window.tools.press((10, 30))
    window.tools.move((60, 30))
    window.tools.release((60, 30))
    assert doc.mask.any()
    assert window.actions_.show_mask.isChecked() and window.canvas.show_mask
    assert f"grew by {int(doc.mask.sum()):,} px" in window.statusBar().currentMessage()


def test_an_imported_sketch_grows_the_hole_like_the_pen(window: MainWindow, tmp_path: Path,
                                                        monkeypatch) -> None:
    _open(window, tmp_path)
    doc = window.doc
    sketch = np.zeros((60, 80), np.uint8)
    sketch[30, 10:70] = 255
    Image.fromarray(sketch).save(tmp_path / "s.png")
    monkeypatch.setattr(dialogs, "ask_open_path", lambda *a: tmp_path / "s.png")
    window.files.import_layer("sketch")
    margin = window.tools.hole_margin
    assert 0 < margin < 25 and doc.mask[30, 10:70].all()
    assert doc.mask[30 - margin, 40] and not doc.mask[30 - margin - 2, 40]
    assert "The hole grew by" in window.statusBar().currentMessage()
    window.actions_.undo.trigger()  # sketch and grown hole are one step
    assert not doc.mask.any() and not doc.sketch.any()


def test_with_a_hole_painted_an_imported_sketch_grows_it_only_around_the_strokes_inside(
        window: MainWindow, tmp_path: Path, monkeypatch) -> None:
    """A sketch of the whole photo (python main.py sketch) made every edge hole (walkthrough)."""
    _open(window, tmp_path)
    doc = window.doc
    doc.mask[20:40, 20:60] = True
    hole = doc.mask.copy()
    sketch = np.zeros((60, 80), np.uint8)
    sketch[30, 10:70] = 255  # across the hole and past its sides
    sketch[5, 10:70] = 255  # far from it
    Image.fromarray(sketch).save(tmp_path / "s.png")
    monkeypatch.setattr(dialogs, "ask_open_path", lambda *a: tmp_path / "s.png")
    window.files.import_layer("sketch")
    margin = window.tools.hole_margin
    assert (doc.sketch == sketch).all()  # every stroke is in the layer
    assert not doc.mask[5].any() and not doc.mask[30, :20 - margin - 1].any()  # no hole grown outside
    assert (doc.mask >= hole).all() and doc.mask[30, 20 - margin]  # room at the hole's edge, as the pen's
    said = window.statusBar().currentMessage()
    away = int(np.count_nonzero((sketch > 0) & ~doc.mask))
    assert said == (f"Imported the sketch from s.png: {int((sketch > 0).sum())} px, {away} of them outside the hole "
                    "(fills follow strokes inside it only)")


def test_batch_dialog_offers_the_engine_and_skip_existing(qtbot, tmp_path: Path) -> None:
    images, mask = photos_and_mask(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    Image.fromarray(mask).save(tmp_path / "m.png")
    (out / "a.png").write_bytes(b"already there")
    settings = load_settings()
    settings.engine, settings.device = "telea", "cpu"
    dialog = BatchDialog(None, settings)
    qtbot.addWidget(dialog)
    assert [dialog.engine.itemText(i) for i in range(dialog.engine.count())] == LABELS
    assert dialog.engine.currentText() == "Telea (fast)"  # the editor's engine
    assert dialog.quality.text() == "Same as each photo"
    dialog.images.setText(str(images))
    dialog.masks.setText(str(tmp_path / "m.png"))
    dialog.out.setText(str(out))
    dialog.fmt.setCurrentText("png")
    dialog.engine.setCurrentIndex(dialog.engine.findData("ns"))
    dialog.skip.setChecked(True)
    dialog.start.click()
    qtbot.waitUntil(lambda: dialog.start.isEnabled(), timeout=30_000)
    text = dialog.log.toPlainText()
    assert "1 filled, 1 skipped" in text and "with Navier-Stokes" in text  # the engine list's words
    assert (out / "a.png").read_bytes() == b"already there" and (out / "b.png").is_file()
    dialog.reject()


def test_attention_caption_and_legend_scroll_the_panel_not_grow_the_window(window: MainWindow, tmp_path: Path,
                                                                          qtbot) -> None:
    from PySide6.QtWidgets import QApplication

    _open(window, tmp_path)
    _fill(window, qtbot)
    QApplication.processEvents()
    before = window.minimumSizeHint().height()
    window.actions_.attention.setChecked(True)
    att = np.zeros((60, 80), np.float32)
    att[5, 5] = 1.0
    window.attention._done(Request("explain", window.last_fill.snapshot, point=(25, 15)),
                           {"attention": att, "temperature": att, "attn_keys": 130.0, "attn_distinct": 0.33})
    QApplication.processEvents()
    assert not window.attention.legend.isHidden()
    assert window.minimumSizeHint().height() == before  # the panel scrolls instead
    scroll = window.panel.parentWidget().parentWidget()
    assert scroll.width() >= window.panel.minimumSizeHint().width()  # nothing squeezed


def test_attention_legend_and_words_clear_when_stale(window: MainWindow, tmp_path: Path, qtbot) -> None:
    _open(window, tmp_path)
    _fill(window, qtbot)
    viewer, info = window.attention, window.panel.attention_info
    window.actions_.attention.setChecked(True)
    att = np.zeros((60, 80), np.float32)
    att[5, 5] = 1.0
    temp = np.linspace(2, 30, 60 * 80, dtype=np.float32).reshape(60, 80)
    viewer._done(Request("explain", window.last_fill.snapshot, point=(25, 15)),
                 {"attention": att, "temperature": temp})
    assert not viewer.legend.isHidden() and viewer.legend.left == "borrowed nothing"
    assert "Bright" in info.text() and window.canvas.heatmap is not None
    window.actions_.temperature.setChecked(True)
    assert viewer.legend.left == "2.00 soft" and viewer.legend.right == "30.00 sharp"
    window.actions_.undo.trigger()  # the fill is gone: so is the map that explained it, and its outline
    assert viewer.legend.isHidden() and window.canvas.heatmap is None and info.text() == FILL_UNDONE
    assert window.canvas.fill_outline is None
    viewer.explain_at(25, 15)  # nothing to explain on the photo as it is now
    assert info.text() == FILL_UNDONE == window.statusBar().currentMessage()
    window.actions_.redo.trigger()  # back: the outline too
    assert info.text() == OUTLINE_HINT and window.canvas.fill_outline is not None
    # "Computing…" does not stay after Esc, and a failed map is no "Fill failed" dialog
    errors: list[str] = []
    window.inference.worker.engine = None  # the next request fails in the worker
    import app.ui.dialogs as d
    original = d.show_error
    d.show_error = lambda parent, message, *a: errors.append(message)
    try:
        with qtbot.waitSignal(window.inference.failed, timeout=30_000):
            viewer.explain_at(25, 15)
        assert info.text().startswith("The attention map failed") and errors == []
        viewer.explain_at(25, 15)
        assert info.text().startswith("Computing attention")
        window.cancel()
        assert info.text().startswith("Cancelled")
    finally:
        d.show_error = original
    qtbot.wait(50)


def test_attention_caption_states_effective_keys_and_distinct_sources(window: MainWindow, tmp_path: Path,
                                                                       qtbot) -> None:
    from app.ui.attention import attention_numbers

    assert attention_numbers({"attention": None}) == ""  # an engine that reports no numbers: no words
    only_keys = attention_numbers({"attn_keys": 3.24, "attn_distinct": float("nan")})
    assert only_keys == "Effective keys: 3.2 (1 = it copied one place)."
    assert attention_numbers({"attn_keys": 101.3}).startswith("Effective keys: 101 ")
    _open(window, tmp_path)
    _fill(window, qtbot)
    window.actions_.attention.setChecked(True)
    att = np.zeros((60, 80), np.float32)
    att[5, 5] = 1.0
    window.attention._done(Request("explain", window.last_fill.snapshot, point=(25, 15)),
                           {"attention": att, "temperature": att, "attn_keys": 2.5, "attn_distinct": 0.0625})
    text = window.panel.attention_info.text()
    assert text.startswith("Bright = where pixel (25, 15) borrowed from.")
    assert "Effective keys: 2.5 (1 = it copied one place)." in text
    assert "Distinct sources per hole token: 0.06 " in text


def test_error_boxes_read_as_sentences() -> None:
    from app.ui.dialogs import sentence

    assert sentence("cannot read x.jpg: the file is truncated") == "Cannot read x.jpg: the file is truncated"
    assert sentence("photo.jpg no longer exists") == "photo.jpg no longer exists"  # a file name keeps its case
    assert sentence("Choose the masks first.") == "Choose the masks first."
    assert sentence("") == ""
