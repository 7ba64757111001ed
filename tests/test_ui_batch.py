"""The batch export dialog runs run_batch on a worker thread and reports failures."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PIL import Image

from app.core.settings import load_settings, save_settings
from app.ui.batch_dialog import BatchDialog


def photos_and_mask(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """An ``images`` folder with two 32 x 24 photos, a.png and b.png, and a mask for them."""
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(images / f"{name}.png")
    mask = np.zeros((24, 32), np.uint8)
    mask[8:14, 10:20] = 255
    return images, mask


def test_batch_dialog_fills_folder_and_lists_failures(qtbot, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TEMPERA_CONFIG_DIR", str(tmp_path / "config"))
    images, mask = photos_and_mask(tmp_path)
    masks, out = tmp_path / "masks", tmp_path / "out"
    masks.mkdir()
    Image.fromarray(mask).save(masks / "a.png")
    Image.fromarray(mask[:10, :10]).save(masks / "b.png")  # wrong size: must fail, with why
    settings = load_settings()
    settings.engine, settings.device = "telea", "cpu"
    dialog = BatchDialog(None, settings)
    qtbot.addWidget(dialog)
    dialog.images.setText(str(images))
    dialog.masks.setText(str(masks))
    dialog.out.setText(str(out))
    assert [dialog.fmt.itemText(i) for i in range(dialog.fmt.count())] == [
        "Same as each photo", "PNG", "JPEG", "WebP", "AVIF", "TIFF", "BMP"]
    dialog.fmt.setCurrentText("PNG")
    with qtbot.waitSignal(dialog.start.clicked):
        dialog.start.click()
    qtbot.waitUntil(lambda: dialog.start.isEnabled(), timeout=30_000)
    text = dialog.log.toPlainText()
    assert (out / "a.png").exists() and not (out / "b.png").exists()
    assert "1 failed" in text and "b.png" in text and "10" in text
    assert dialog.bar.value() == dialog.bar.maximum() == 2  # both photos were tried
    dialog.reject()
    assert dialog.thread is None
    # the next batch dialog starts from the folders and format of this one
    again = BatchDialog(None, settings)
    qtbot.addWidget(again)
    assert (again.images.text(), again.masks.text(), again.out.text()) == (str(images), str(masks), str(out))
    assert again.sketches.text() == "" and again.fmt.currentData() == "png"
    save_settings(settings)
    assert load_settings().batch_paths == {"images": str(images), "masks": str(masks), "out": str(out)}


def test_batch_dialog_requires_folders(qtbot, monkeypatch) -> None:
    errors: list[str] = []
    monkeypatch.setattr("app.ui.dialogs.show_error", lambda parent, message, *a: errors.append(message))
    dialog = BatchDialog(None, load_settings())
    qtbot.addWidget(dialog)
    dialog.start_batch()
    assert errors and "images folder" in errors[0] and dialog.thread is None


def test_batch_dialog_reports_an_output_folder_it_cannot_create(qtbot, tmp_path: Path, monkeypatch) -> None:
    errors: list[str] = []
    monkeypatch.setattr("app.ui.dialogs.show_error", lambda parent, message, *a: errors.append(message))
    (tmp_path / "in").mkdir()
    blocker = tmp_path / "taken"
    blocker.write_text("a file where the output folder should go")
    dialog = BatchDialog(None, load_settings())
    qtbot.addWidget(dialog)
    dialog.images.setText(str(tmp_path / "in"))
    dialog.masks.setText(str(tmp_path / "in"))
    dialog.out.setText(str(blocker / "out"))
    dialog.start_batch()
    assert errors and "cannot create the output folder" in errors[0]
    assert dialog.thread is None and dialog.start.isEnabled()


def telea_dialog(qtbot, tmp_path: Path, monkeypatch, out: str) -> tuple[BatchDialog, Path]:
    """A dialog filling a.png and b.png with one mask file by Telea into ``tmp_path / out``;
    returns it and the images folder."""
    monkeypatch.setenv("TEMPERA_CONFIG_DIR", str(tmp_path / "config"))
    images, mask = photos_and_mask(tmp_path)
    Image.fromarray(mask).save(tmp_path / "mask.png")
    settings = load_settings()
    settings.engine, settings.device = "telea", "cpu"
    dialog = BatchDialog(None, settings)
    qtbot.addWidget(dialog)
    dialog.images.setText(str(images))
    dialog.masks.setText(str(tmp_path / "mask.png"))
    dialog.out.setText(str(tmp_path / out))
    return dialog, images


def test_batch_dialog_fills_as_the_cli_does(qtbot, tmp_path: Path, monkeypatch) -> None:
    """Same photos, mask, engine and settings: the dialog's files are the CLI's, byte for
    byte (the dialog once left the feather out)."""
    import argparse

    from app.commands import batch as batch_cmd

    dialog, images = telea_dialog(qtbot, tmp_path, monkeypatch, "gui")
    assert dialog.feather.value() == dialog.settings.feather_px == 3  # the editor's default soft edge
    dialog.start_batch()
    qtbot.waitUntil(lambda: dialog.start.isEnabled(), timeout=30_000)
    assert "2 filled" in dialog.log.toPlainText()
    parser = argparse.ArgumentParser()
    batch_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["batch", "--images", str(images), "--masks", str(tmp_path / "mask.png"),
                              "--out", str(tmp_path / "cli"), "--engine", "telea", "--device", "cpu"])
    assert args.func(args) == 0
    for name in ("a.png", "b.png"):
        assert (tmp_path / "gui" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()


def test_closing_a_running_batch_asks_and_keeps_the_summary(qtbot, tmp_path: Path, monkeypatch) -> None:
    dialog, _ = telea_dialog(qtbot, tmp_path, monkeypatch, "out")
    asked: list[bool] = []
    monkeypatch.setattr("app.ui.dialogs.ask_stop_batch", lambda parent: asked.append(True) or False)
    # hold the batch at its first image until the test has pressed Close
    import threading

    import app.inference.batch as batch_mod

    release, real_process = threading.Event(), batch_mod._process
    monkeypatch.setattr(batch_mod, "_process", lambda *a, **k: (release.wait(10), real_process(*a, **k))[1])
    monkeypatch.setattr(batch_mod, "default_jobs", lambda engine: 1)  # one photo at a time here
    dialog.start_batch()
    qtbot.waitUntil(lambda: "Filling 1 of 2: a.png" in dialog.log.toPlainText(), timeout=30_000)
    dialog.reject()  # "No": the batch goes on, the dialog stays
    assert asked == [True] and dialog.worker is not None and not dialog.worker.cancelled.is_set()
    monkeypatch.setattr("app.ui.dialogs.ask_stop_batch", lambda parent: asked.append(True) or True)
    dialog.show()
    dialog.reject()  # "Yes": it stops after the photo being filled, then closes
    assert dialog.worker is not None and dialog.worker.cancelled.is_set() and dialog.isVisible()
    release.set()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=30_000)
    assert dialog.thread is None and len(asked) == 2
    assert "1 filled" in dialog.last_summary and "1 not done (cancelled)" in dialog.last_summary
    assert (tmp_path / "out" / "a.png").exists() and not (tmp_path / "out" / "b.png").exists()


def test_a_refused_batch_shows_no_count_of_photos(qtbot, tmp_path: Path, monkeypatch) -> None:
    dialog, images = telea_dialog(qtbot, tmp_path, monkeypatch, "out")
    dialog.out.setText(str(images))  # would write over the photos: refused before any
    dialog.start_batch()
    qtbot.waitUntil(lambda: dialog.start.isEnabled(), timeout=30_000)
    assert "would replace the batch's own files" in dialog.log.toPlainText()
    assert dialog.bar.text() == ""


def test_two_photos_at_once_show_a_line_each_and_a_cancel_lets_both_finish(qtbot, tmp_path: Path,
                                                                         monkeypatch) -> None:
    import threading

    import app.inference.batch as batch_mod

    dialog, images = telea_dialog(qtbot, tmp_path, monkeypatch, "out")
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(images / "c.png")
    release, real_process = threading.Event(), batch_mod._process
    monkeypatch.setattr(batch_mod, "_process", lambda *a, **k: (release.wait(10), real_process(*a, **k))[1])
    monkeypatch.setattr(batch_mod, "default_jobs", lambda engine: 2)
    dialog.start_batch()
    both = "Filling 1 of 3: a.png…\nFilling 2 of 3: b.png…"
    qtbot.waitUntil(lambda: dialog.log.toPlainText() == both, timeout=30_000)
    assert dialog.bar.value() == 0 and dialog.bar.maximum() == 3  # nothing done yet
    dialog.cancel_batch()
    assert dialog.log.toPlainText().endswith("Cancelling after these images…")
    release.set()
    qtbot.waitUntil(lambda: dialog.start.isEnabled(), timeout=30_000)
    text = dialog.log.toPlainText()
    assert "2 filled" in text and "1 not done (cancelled)" in text
    assert (tmp_path / "out" / "a.png").exists() and (tmp_path / "out" / "b.png").exists()
    assert not (tmp_path / "out" / "c.png").exists() and dialog.bar.value() == 2


def held_batch(qtbot, tmp_path: Path, monkeypatch):
    """A batch dialog whose run has started and waits, its photos held until ``release``."""
    import threading

    import app.inference.batch as batch_mod

    dialog, _ = telea_dialog(qtbot, tmp_path, monkeypatch, "out")
    release, real_process = threading.Event(), batch_mod._process
    monkeypatch.setattr(batch_mod, "_process", lambda *a, **k: (release.wait(10), real_process(*a, **k))[1])
    dialog.start_batch()
    qtbot.waitUntil(lambda: "Filling" in dialog.log.toPlainText(), timeout=30_000)
    return dialog, release


def test_a_batch_that_ends_while_stop_is_asked_closes_without_error(qtbot, tmp_path: Path, monkeypatch) -> None:
    dialog, release = held_batch(qtbot, tmp_path, monkeypatch)

    def finishes_meanwhile(parent) -> bool:  # the batch ends while the question is open
        release.set()
        qtbot.waitUntil(lambda: dialog.worker is None, timeout=30_000)
        return True

    monkeypatch.setattr("app.ui.dialogs.ask_stop_batch", finishes_meanwhile)
    dialog.show()
    dialog.reject()  # used to raise AttributeError on the finished worker
    assert not dialog.isVisible() and "2 filled" in dialog.last_summary
    assert dialog.last_headline.startswith("2 of ") and dialog.last_headline.endswith(str(tmp_path / "out"))


def test_the_stop_question_goes_away_when_the_batch_ends_meanwhile(qtbot, tmp_path: Path, monkeypatch) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    dialog, release = held_batch(qtbot, tmp_path, monkeypatch)
    dialog.show()
    seen: list[bool] = []

    def end_the_batch() -> None:  # while the real question is open and nobody answers it
        seen.append(any(b.isVisible() for b in dialog.findChildren(QMessageBox)))
        release.set()

    # the timers are the dialog's, so they never fire into a later test; should the question
    # stay, the test is not left waiting on it (a "No" after 10 s)
    ender = QTimer(dialog, singleShot=True, interval=300)
    ender.timeout.connect(end_the_batch)
    ender.start()
    fallback = QTimer(dialog, singleShot=True, interval=10_000)
    fallback.timeout.connect(lambda: [b.done(0) for b in dialog.findChildren(QMessageBox) if b.isVisible()])
    fallback.start()
    dialog.reject()  # Close: "Stop the batch?" opens, the batch ends, the question closes itself
    fallback.stop()
    assert seen == [True]
    assert not any(b.isVisible() for b in dialog.findChildren(QMessageBox))
    assert not dialog.isVisible() and "2 filled" in dialog.last_summary  # closed, as asked, with its summary
