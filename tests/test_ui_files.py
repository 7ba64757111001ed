"""Files the way desktop apps do: drop, paste, copy, Open recent, JPEG fidelity, transparency."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from app.core import brush
from app.core.imageio import KEEP
from app.core.jpeg_settings import estimate_quality
from app.core.settings import load_settings, user_settings_path
from app.ui import dialogs
from app.ui.main_window import MainWindow

COPY = Qt.DropAction.CopyAction


@pytest.fixture
def window(qtbot, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setattr(dialogs, "ask_unsaved", lambda *a: "discard")
    settings = load_settings()
    settings.engine, settings.device = "telea", "cpu"
    w = MainWindow(settings, load_engine=False)
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    qtbot.waitExposed(w)
    return w


def _photo(tmp_path: Path, name: str = "photo.jpg", **save) -> Path:
    rng = np.random.default_rng(len(name))
    y, x = np.mgrid[0:96, 0:128]
    rgb = np.dstack([x * 2, y * 2, (x + y) % 256]).astype(np.int16) + rng.integers(-20, 20, (96, 128, 3))
    path = tmp_path / name
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path, **save)
    return path


def _mask_some(w: MainWindow) -> None:
    w.tools.set_tool("rect")
    w.tools.press((10, 10))
    w.tools.release((30, 25))
    assert w.doc.mask.any()


def _menu_actions(w: MainWindow, title: str) -> list:
    menu = next(a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == title)
    return menu.actions()


def test_new_actions_are_in_the_file_menu_with_their_keys(window: MainWindow) -> None:
    file_menu = _menu_actions(window, "File")
    for action, key in ((window.actions_.paste, "Ctrl+V"), (window.actions_.copy, "Ctrl+C")):
        assert action in file_menu
        assert action.shortcut() == QKeySequence(key)
    assert window.recent_menu.menuAction() in file_menu


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # QDragEnterEvent has no QPointF form
def test_dropping_a_photo_opens_it_after_the_drop(window: MainWindow, tmp_path: Path, qtbot) -> None:
    photo = _photo(tmp_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo))])
    text = QMimeData()
    text.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    pos = QPointF(window.canvas.mapTo(window, QPoint(50, 50)))
    refused = QDragEnterEvent(pos.toPoint(), COPY, text, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, refused)
    assert not refused.isAccepted()  # a text file is not offered as droppable
    enter = QDragEnterEvent(pos.toPoint(), COPY, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, COPY, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    assert drop.isAccepted() and window.doc is None  # opened once the drop has returned
    qtbot.waitUntil(lambda: window.doc is not None)
    assert window.doc.path == photo and "photo.jpg" in window.windowTitle()


def test_paste_makes_an_untitled_document_and_save_asks_for_a_name(window: MainWindow, tmp_path: Path,
                                                                    monkeypatch) -> None:
    image = QImage(40, 30, QImage.Format.Format_RGB888)
    image.fill(0x336699)
    QGuiApplication.clipboard().setImage(image)
    window.actions_.paste.trigger()
    doc = window.doc
    assert doc.path is None and doc.size_wh == (40, 30) and tuple(doc.image[3, 3]) == (0x33, 0x66, 0x99)
    assert window.windowTitle().startswith("*Pasted image")  # exists nowhere else: unsaved
    assert window.statusBar().currentMessage() == "A new photo from the clipboard image (40 x 30); Ctrl+S saves it"
    assert window.files.is_modified()
    asked: list[Path] = []
    out = tmp_path / "named.png"
    monkeypatch.setattr(dialogs, "ask_save_path", lambda parent, suggested, *a: asked.append(suggested) or out)
    _mask_some(window)
    window.actions_.save.trigger()
    assert [p.name for p in asked] == ["pasted-inpainted.png"] and out.is_file()
    assert window.windowTitle().startswith("named.png") and not window.files.is_modified()
    assert window.settings.recent_files[0] == str(out.resolve())  # a saved file is a recent file


def test_without_a_photo_fill_and_copy_are_disabled(window: MainWindow, tmp_path: Path) -> None:
    fill_button = next(b for b in window.panel.findChildren(QPushButton) if b.text().startswith("Fill"))
    assert not window.actions_.fill.isEnabled() and not fill_button.isEnabled()
    assert not window.actions_.copy.isEnabled()
    window.files.open_path(_photo(tmp_path, "p.png"))
    assert window.actions_.fill.isEnabled() and fill_button.isEnabled() and window.actions_.copy.isEnabled()


def test_copy_puts_the_current_result_on_the_clipboard(window: MainWindow, tmp_path: Path) -> None:
    assert not window.files.copy()  # nothing open: a message, no crash
    window.files.open_path(_photo(tmp_path, "p.png"))
    window.doc.image[5:9, 5:9] = (250, 10, 20)  # stands in for a fill
    window.actions_.copy.trigger()
    got = QGuiApplication.clipboard().image().convertToFormat(QImage.Format.Format_RGB888)
    assert (got.width(), got.height()) == window.doc.size_wh
    assert got.pixelColor(6, 6).getRgb()[:3] == (250, 10, 20)
    assert got.pixelColor(50, 40).getRgb()[:3] == tuple(int(v) for v in window.doc.image[40, 50])


def test_open_recent_is_numbered_persisted_and_drops_missing_files(window: MainWindow, tmp_path: Path,
                                                                    monkeypatch) -> None:
    a, b = _photo(tmp_path, "a.png"), _photo(tmp_path, "b.png")
    window.files.open_path(a)
    window.files.open_path(b)
    texts = [x.text() for x in window.recent_menu.actions() if not x.isSeparator()]
    assert texts == ["&1 b.png", "&2 a.png", "Clear recent files"]
    saved = json.loads(user_settings_path().read_text())
    assert saved["recent_files"] == [str(b.resolve()), str(a.resolve())]
    a.unlink()
    window.recent_menu.aboutToShow.emit()  # the menu opens: files gone since are dropped
    assert window.settings.recent_files == [str(b.resolve())]
    assert json.loads(user_settings_path().read_text())["recent_files"] == [str(b.resolve())]
    errors: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *x: errors.append(text))
    b.unlink()  # gone while the menu was open
    window.recent_menu.actions()[0].trigger()
    assert len(errors) == 1 and "no longer exists" in errors[0]
    assert window.settings.recent_files == [] and not window.recent_menu.isEnabled()
    c = _photo(tmp_path, "c.png")
    window.files.open_path(c)
    window.actions_.clear_recent.trigger()
    assert window.settings.recent_files == [] and load_settings().recent_files == []


def test_open_recent_tells_photos_of_the_same_name_apart(window: MainWindow, tmp_path: Path) -> None:
    (tmp_path / "day1").mkdir()
    (tmp_path / "day2").mkdir()
    first, second = _photo(tmp_path / "day1", "beach.png"), _photo(tmp_path / "day2", "beach.png")
    window.files.open_path(first)
    window.files.open_path(second)
    actions = [x for x in window.recent_menu.actions() if not x.isSeparator()]
    assert [x.text() for x in actions[:2]] == ["&1 beach.png — day2", "&2 beach.png — day1"]
    assert actions[1].toolTip() == str(first.resolve())


def test_save_as_jpeg_keeps_the_originals_quality_and_the_title_follows(window: MainWindow, tmp_path: Path,
                                                                        monkeypatch) -> None:
    photo = _photo(tmp_path, quality=77, subsampling=2)
    window.files.open_path(photo)
    _mask_some(window)
    offered: list = []
    out = tmp_path / "clean.jpg"
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: out)
    monkeypatch.setattr(dialogs, "ask_quality",
                        lambda parent, path, q, keep=None, lossless=False: offered.append(keep) or KEEP)
    window.actions_.save_as.trigger()
    assert offered[0] is not None and offered[0].describe() == "quality 77, 4:2:0"
    with Image.open(out) as saved, Image.open(photo) as source:
        assert saved.quantization == source.quantization
    assert window.windowTitle().startswith("clean.jpg (128 × 96)")
    brush_patch = brush.rectangle((40, 40), (50, 50), window.doc.size_wh)
    window.doc.paint("mask", brush_patch, True)
    window.undo_stack.resetClean()
    window.actions_.save.trigger()  # Ctrl+S: same name, same choice, no questions
    assert len(offered) == 1
    with Image.open(out) as saved:
        assert estimate_quality(saved.quantization[0]) == (77, True)


def test_the_status_line_says_saving_while_the_file_is_written(window: MainWindow, tmp_path: Path,
                                                               monkeypatch) -> None:
    from app.ui import files as files_mod

    photo = _photo(tmp_path, quality=77, subsampling=2)
    window.files.open_path(photo)
    _mask_some(window)
    out = tmp_path / "clean.jpg"
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: out)
    monkeypatch.setattr(dialogs, "ask_quality", lambda *a, **k: KEEP)
    said: list[str] = []
    real = files_mod.save_image
    monkeypatch.setattr(files_mod, "save_image",
                        lambda *a, **k: said.append(window.statusBar().currentMessage()) or real(*a, **k))
    window.actions_.save_as.trigger()
    assert said == ["Saving clean.jpg…"] and out.exists()
    assert window.statusBar().currentMessage() == f"Saved {out}"


def test_quality_dialog_offers_same_as_the_original_first(window: MainWindow, tmp_path: Path, qtbot) -> None:
    photo = _photo(tmp_path, quality=64)
    window.files.open_path(photo)
    dialog = dialogs.QualityDialog(window, tmp_path / "x.jpg", 93, window.doc.source.jpeg)
    qtbot.addWidget(dialog)
    assert dialog.same.text() == "Same as the original (quality 64, 4:2:0)"
    assert dialog.value() == KEEP and not dialog.spin.isEnabled()
    dialog.custom.setChecked(True)
    assert dialog.spin.isEnabled() and dialog.value() == 93
    plain = dialogs.QualityDialog(window, tmp_path / "x.webp", 80)
    qtbot.addWidget(plain)
    assert plain.same is None and plain.value() == 80


@pytest.mark.parametrize("answer", ["cancel", "png", "flatten"])
def test_saving_transparency_as_jpeg_asks_first(window: MainWindow, tmp_path: Path, monkeypatch,
                                                answer: str) -> None:
    rgba = np.zeros((30, 40, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 255
    rgba[:, :10, 3] = 0
    src = tmp_path / "cut.png"
    Image.fromarray(rgba, "RGBA").save(src)
    window.files.open_path(src)
    _mask_some(window)
    paths = iter([tmp_path / "cut-out.jpg", tmp_path / "cut-out.png"])
    suggested: list[Path] = []
    monkeypatch.setattr(dialogs, "ask_save_path",
                        lambda parent, s, *a: suggested.append(s) or next(paths))
    monkeypatch.setattr(dialogs, "ask_quality", lambda parent, path, q, keep=None, lossless=False: q)
    asked: list[str] = []
    monkeypatch.setattr(dialogs, "ask_flatten", lambda parent, name, ext: asked.append(ext) or answer)
    saved = window.files.save_as()
    assert asked == [".jpg"]
    if answer == "cancel":
        assert not saved and not list(tmp_path.glob("cut-out.*")) and window.files.is_modified()
    elif answer == "png":
        assert saved and suggested[1].name == "cut-out.png" and not (tmp_path / "cut-out.jpg").exists()
        assert Image.open(tmp_path / "cut-out.png").mode == "RGBA"
    else:
        back = np.asarray(Image.open(tmp_path / "cut-out.jpg").convert("RGB")).astype(int)
        assert saved and back[:, :8].min() >= 245 and back[:, 12:, 0].min() >= 190


def test_transparent_areas_are_drawn_over_a_checkerboard(window: MainWindow, tmp_path: Path) -> None:
    from app.ui.render import CHECKER_GREYS, CHECKER_PX

    rgb = np.full((40, 48, 3), (200, 30, 30), np.uint8)  # red everywhere, hidden on the left
    alpha = np.full((40, 48), 255, np.uint8)
    alpha[:, :16] = 0
    path = tmp_path / "clear.png"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path)
    window.files.open_path(path)
    shown = window.canvas._pixels("image")
    assert tuple(shown[0, 0]) == (CHECKER_GREYS[0],) * 3 and tuple(shown[0, CHECKER_PX]) == (CHECKER_GREYS[1],) * 3
    assert tuple(shown[0, 30]) == (200, 30, 30)  # opaque pixels as they are
    assert window.doc.image[0, 0].tolist() == [200, 30, 30]  # only the display changes
    from app.ui.commands import replace_layers

    image = window.doc.image.copy()
    image[:, 20:30] = (10, 200, 10)
    window.undo_stack.push(replace_layers(window.doc, "Fill", image=image))
    shown = window.canvas._pixels("image")
    assert tuple(shown[5, 25]) == (10, 200, 10) and tuple(shown[0, 0]) == (CHECKER_GREYS[0],) * 3
    window.files.open_path(_photo(tmp_path, "opaque.png"))
    assert window.canvas._pixels("image") is window.doc.image  # no copy for an opaque photo


def test_a_photo_named_relative_to_the_working_folder_starts_the_next_open_there(window: MainWindow, tmp_path: Path,
                                                                                 monkeypatch) -> None:
    Image.fromarray(np.full((20, 30, 3), 120, np.uint8)).save(tmp_path / "rel.png")
    monkeypatch.chdir(tmp_path)
    assert window.files.open_path("rel.png", confirm=False)  # as `python main.py rel.png` gives it
    started: list[Path | None] = []
    monkeypatch.setattr(dialogs, "ask_open_path", lambda parent, start, *a: started.append(start))
    window.actions_.open.trigger()
    assert started == [tmp_path]


def test_saving_over_the_opened_photo_is_refused_before_asking_to_replace_it(
        window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Qt's own overwrite question came first and Tempera refused after Yes; now the opened
    photo is refused at once and the dialog comes back, and replacing another file is asked
    about the name that will be written (with the extension the chosen type adds)."""
    from PySide6.QtWidgets import QFileDialog

    photo = _photo(tmp_path, "photo.png")
    window.files.open_path(photo)
    other = tmp_path / "other.png"
    other.write_bytes(b"keep me")
    answers = [(str(photo), "PNG (*.png)"), (str(tmp_path / "other"), "PNG (*.png)"), (str(tmp_path / "new"), "PNG (*.png)")]
    options, errors, replace = [], [], []

    def dialog(parent, title, start, filters, initial, option):
        options.append(option)
        return answers.pop(0)

    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    monkeypatch.setattr(dialogs, "show_error", lambda parent, message, *a: errors.append(message))
    monkeypatch.setattr(dialogs, "ask_replace", lambda parent, path: replace.append(path.name) or False)
    got = dialogs.ask_save_path(window, tmp_path / "photo-inpainted.png", "Save result", dialogs.SAVE_FILTER,
                                window.files._inputs())
    assert got == tmp_path / "new.png" and not answers
    assert errors == ["photo.png is the photo you opened, and Tempera never saves over it. "
                      "Choose another name or folder."]
    assert replace == ["other.png"]  # asked with the extension the type adds; No: asked again
    assert all(o & QFileDialog.Option.DontConfirmOverwrite for o in options)
    assert other.read_bytes() == b"keep me"


def test_exporting_a_layer_over_the_opened_photo_is_refused(window: MainWindow, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    photo = _photo(tmp_path, "photo.png")
    before = photo.read_bytes()
    window.files.open_path(photo)
    _mask_some(window)
    errors: list[str] = []
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: photo)  # as if the dialog had let it through
    monkeypatch.setattr(dialogs, "show_error", lambda parent, message, *a: errors.append(message))
    window.files.export_layer("mask")
    assert photo.read_bytes() == before
    assert len(errors) == 1 and "refusing to overwrite the input photo.png" in errors[0]


def test_a_file_that_cannot_be_opened_asks_nothing_about_the_current_work(
        window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window.files.open_path(_photo(tmp_path, "photo.png"))
    _mask_some(window)  # unsaved work: opening another photo would ask about it
    asked, errors = [], []
    monkeypatch.setattr(dialogs, "ask_unsaved", lambda *a: asked.append("unsaved") or "discard")
    monkeypatch.setattr(dialogs, "ask_discard_mask", lambda *a: asked.append("mask") or True)
    monkeypatch.setattr(dialogs, "show_error", lambda parent, message, *a: errors.append(message))
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(_photo(tmp_path, "whole.jpg").read_bytes()[:300])
    for bad in (empty, cut):
        assert not window.files.open_path(bad)
    assert asked == []  # nothing was asked, and the work is still there
    assert window.doc.mask.any() and window.doc.name == "photo.png"
    assert "the file is empty" in errors[0] and "cut.jpg" in errors[1]
    assert window.files.open_path(_photo(tmp_path, "next.png"))  # a good one still asks first
    assert asked == ["mask"]


def test_exporting_an_empty_layer_says_so_instead_of_writing_black(window: MainWindow, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    window.files.open_path(_photo(tmp_path, "photo.png"))
    infos, asked = [], []
    monkeypatch.setattr(dialogs, "show_info", lambda parent, message, *a: infos.append(message))
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: asked.append(a) or tmp_path / "m.png")
    window.files.export_layer("sketch")
    assert infos == ["Nothing to export: the sketch is empty."] and not asked
    window.doc.last_mask = np.ones(window.doc.size_hw, bool)  # as after a fill, which uses the mask up
    window.files.export_layer("mask")
    assert "Restore last mask (Ctrl+Shift+M)" in infos[1] and not asked
    _mask_some(window)
    window.files.export_layer("mask")  # a painted mask is exported as before
    assert len(asked) == 1 and (tmp_path / "m.png").exists()


def test_a_slow_save_keeps_the_window_painting_and_closing_waits(window: MainWindow, tmp_path: Path,
                                                                   qtbot, monkeypatch) -> None:
    import threading

    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QCloseEvent

    from app.ui import files as files_module

    window.files.open_path(_photo(tmp_path))
    _mask_some(window)
    real_save = files_module.save_image
    seen: dict[str, object] = {}
    release = threading.Event()

    def slow_save(*a, **k):
        seen["thread"] = threading.current_thread() is not threading.main_thread()
        assert release.wait(10)
        return real_save(*a, **k)

    monkeypatch.setattr(files_module, "save_image", slow_save)
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: tmp_path / "out.png")
    monkeypatch.setattr(dialogs, "ask_quality", lambda *a, **k: 90)
    ticks: list[int] = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()

    def during() -> None:  # runs from the window's event loop while the write waits
        seen["saving"] = window.files.saving
        close = QCloseEvent()
        window.closeEvent(close)
        seen["close_refused"] = not close.isAccepted()
        seen["ticks"] = len(ticks)
        release.set()

    QTimer.singleShot(200, during)
    assert window.files.save_as()
    timer.stop()
    assert seen == {"thread": True, "saving": True, "close_refused": True, "ticks": seen["ticks"]}
    assert seen["ticks"] >= 5  # timers kept running: the window was not frozen
    assert not window.files.saving and (tmp_path / "out.png").exists()
    assert window.windowTitle().count("*") == 0 and window.isVisible()


def test_webp_can_be_saved_lossless_and_the_next_save_asks_with_it_first(window: MainWindow, tmp_path: Path,
                                                                         monkeypatch) -> None:
    from app.core.imageio import LOSSLESS

    window.files.open_path(_photo(tmp_path, "photo.png"))
    dialog = dialogs.QualityDialog(window, tmp_path / "out.webp", 90)
    assert dialog.exact is not None and not dialog.exact.isChecked() and dialog.value() == 90
    dialog.exact.setChecked(True)
    assert dialog.value() == LOSSLESS and not dialog.spin.isEnabled()
    assert dialogs.QualityDialog(window, tmp_path / "out.jpg", 90).exact is None  # JPEG has no such choice
    asked: list[bool] = []
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: tmp_path / "out.webp")
    monkeypatch.setattr(dialogs, "ask_quality", lambda *a, lossless=False: asked.append(lossless) or LOSSLESS)
    _mask_some(window)
    assert window.files.save_as()
    with Image.open(tmp_path / "out.webp") as saved:
        assert np.array_equal(np.asarray(saved.convert("RGB")), window.doc.image)  # every pixel kept
    assert window.settings.save_quality == 95  # the quality Preferences sets is no save's to change
    assert window.files.save_as() and asked == [False, True]  # Save As again: lossless offered first


def test_preferences_apply_at_once_and_are_saved(window: MainWindow, tmp_path: Path, monkeypatch) -> None:
    from app.ui import preferences

    monkeypatch.setenv("TEMPERA_CONFIG_DIR", str(tmp_path / "config"))
    assert [s.toString() for s in window.actions_.preferences.shortcuts()] == ["Ctrl+,"]
    assert "Preferences…" in [a.text().replace("&", "") for a in _menu_actions(window, "Edit")]
    window.settings.recent_files = [str(tmp_path / f"{i}.png") for i in range(5)]
    shown: list[preferences.Choices] = []
    chosen = preferences.Choices(undo_limit=7, recent_max=2, save_quality=80, sketch_color="#ffaa00",
                                 sketch_hole_margin=30)
    monkeypatch.setattr(preferences, "ask_preferences", lambda parent, current: shown.append(current) or chosen)
    window.actions_.preferences.trigger()
    assert shown[0].sketch_color == "#00e5ff" and shown[0].recent_max == 10  # the dialog opens on what is set
    s = window.settings
    assert (s.undo_limit, s.recent_max, s.save_quality, s.sketch_color, s.sketch_hole_margin) == \
        (7, 2, 80, "#ffaa00", 30)
    assert window.undo_stack.undoLimit() == 7 and len(s.recent_files) == 2  # no photo open: at once
    assert window.tools.hole_margin == 30 and window.canvas.sketch_color == QColor("#ffaa00")
    saved = json.loads(user_settings_path().read_text())
    assert saved["sketch_hole_margin"] == 30 and saved["save_quality"] == 80
    window.files.open_path(_photo(tmp_path))
    _mask_some(window)
    chosen.undo_limit = 12
    window.actions_.preferences.trigger()  # with history: applies from the next photo
    assert window.undo_stack.undoLimit() == 7
    window.files.open_path(_photo(tmp_path, "other.jpg"))
    assert window.undo_stack.undoLimit() == 12
    dialog = preferences.PreferencesDialog(window, chosen)  # the real dialog gives back what it shows
    assert dialog.choices() == chosen


def test_a_save_offers_the_photo_s_last_quality_and_leaves_the_preference(window: MainWindow, tmp_path: Path,
                                                                           monkeypatch) -> None:
    window.files.open_path(_photo(tmp_path, "p.png"))
    _mask_some(window)
    offered: list[int] = []
    answers = iter([85, 70])
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: tmp_path / "out.jpg")
    monkeypatch.setattr(dialogs, "ask_quality", lambda parent, path, q, keep=None, lossless=False:
                        offered.append(q) or next(answers))
    window.settings.save_quality = 90
    assert window.files.save_as() and window.files.save_as()
    assert offered == [90, 85]  # the preference first, then this photo's own last choice
    suggested: list[Path] = []
    monkeypatch.setattr(dialogs, "ask_save_path", lambda parent, s, *a: suggested.append(s))
    window.files.save_as()  # cancelled: it was asked with the name saved under
    assert suggested == [tmp_path / "out.jpg"]
    assert window.settings.save_quality == 90
