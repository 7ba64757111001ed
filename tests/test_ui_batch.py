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
    dialog.fmt.setCurrentText("png")
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
    assert again.sketches.text() == "" and again.fmt.currentText() == "png"
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
