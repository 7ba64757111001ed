"""Small dialogs. Each is one function so that tests can monkeypatch it (or the
QMessageBox / QFileDialog call inside it) without driving modal windows."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QLabel, QMessageBox, QSpinBox, QWidget

from app.core.autosave import AutosaveState
from app.core.names import IMAGE_EXTENSIONS, IMAGE_FORMATS


def _patterns(extensions: Iterable[str]) -> str:
    return " ".join(f"*{ext}" for ext in extensions)


def _save_filter() -> str:
    """One entry per format, e.g. ``PNG (*.png);;JPEG (*.jpg *.jpeg);;...``."""
    by_format: dict[str, list[str]] = {}
    for ext, fmt in IMAGE_FORMATS.items():
        by_format.setdefault(fmt, []).append(ext)
    label = {"WEBP": "WebP"}
    return ";;".join(f"{label.get(fmt, fmt)} ({_patterns(exts)})" for fmt, exts in by_format.items())


IMAGE_FILTER = f"Images ({_patterns(IMAGE_EXTENSIONS)});;All files (*)"
SAVE_FILTER = _save_filter()
PNG_FILTER = f"PNG (*.png);;Images ({_patterns(IMAGE_EXTENSIONS)})"
LOSSY = {ext for ext, fmt in IMAGE_FORMATS.items() if fmt in ("JPEG", "WEBP")}  # the quality dialog asks for these
Button = QMessageBox.StandardButton


def show_error(parent: QWidget | None, message: str, title: str = "Tempera") -> None:
    QMessageBox.critical(parent, title, message)


def ask_unsaved(parent: QWidget | None, name: str) -> str:
    """"save", "discard" or "cancel" for a document with unsaved changes."""
    answer = QMessageBox.warning(
        parent, "Unsaved changes", f"{name} has unsaved changes. Save them first?",
        Button.Save | Button.Discard | Button.Cancel, Button.Save)
    return {Button.Save: "save", Button.Discard: "discard"}.get(answer, "cancel")


def ask_restore(parent: QWidget | None, state: AutosaveState) -> bool:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(state.saved_at))
    what = Path(state.source_path).name if state.source_path else "a pasted image"
    answer = QMessageBox.question(
        parent, "Restore work?",
        f"Tempera was not closed cleanly. Restore the work on {what} from {when}?",
        Button.Yes | Button.No, Button.Yes)
    return answer == Button.Yes


def ask_open_path(parent: QWidget | None, start: Path | None, title: str = "Open photo",
                  filters: str = IMAGE_FILTER) -> Path | None:
    path, _ = QFileDialog.getOpenFileName(parent, title, str(start or Path.home()), filters)
    return Path(path) if path else None


def ask_folder(parent: QWidget | None, title: str, start: str = "") -> Path | None:
    path = QFileDialog.getExistingDirectory(parent, title, start or str(Path.home()))
    return Path(path) if path else None


def ask_save_path(parent: QWidget | None, suggested: Path, title: str = "Save result",
                  filters: str = SAVE_FILTER) -> Path | None:
    # Preselect the filter of the suggested extension, or the dialog hides the other files
    # and the name and the "type" disagree.
    ext = f"*{suggested.suffix.lower()}"
    initial = next((f for f in filters.split(";;") if ext in f.split("(")[-1].rstrip(")").split()), "")
    path, chosen = QFileDialog.getSaveFileName(parent, title, str(suggested), filters, initial)
    if not path:
        return None
    out = Path(path)
    if not out.suffix:  # the filter the user picked decides the extension
        out = out.with_suffix("." + chosen.split("*.")[1].split()[0].rstrip(")")) if "*." in chosen else out
    return out


class QualityDialog(QDialog):
    def __init__(self, parent: QWidget | None, path: Path, quality: int) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save options")
        form = QFormLayout(self)
        form.addRow(QLabel(f"{path.name} is a lossy format."))
        self.spin = QSpinBox()
        self.spin.setRange(1, 100)
        self.spin.setValue(quality)
        self.spin.setToolTip("Higher keeps more detail and makes bigger files; 90–95 is usually invisible")
        form.addRow("Quality", self.spin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


def ask_quality(parent: QWidget | None, path: Path, quality: int) -> int | None:
    """JPEG / WebP quality for ``path`` (None = cancelled); other formats need none."""
    if path.suffix.lower() not in LOSSY:
        return quality
    dialog = QualityDialog(parent, path, quality)
    value = dialog.spin.value() if dialog.exec() == QDialog.DialogCode.Accepted else None
    dialog.deleteLater()
    return value
