"""Small dialogs. Each is one function so that tests can monkeypatch it (or the
QMessageBox / QFileDialog call inside it) without driving modal windows."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMessageBox,
    QRadioButton,
    QSpinBox,
    QWidget,
)

from app.core.autosave import AutosaveState
from app.core.errors import TemperaError
from app.core.imageio import KEEP, LOSSLESS, JpegSettings, refuse_overwrite
from app.core.names import IMAGE_EXTENSIONS, IMAGE_FORMATS, LOSSY_FORMATS


def _patterns(extensions: Iterable[str]) -> str:
    return " ".join(f"*{ext}" for ext in extensions)


def format_label(ext: str) -> str:
    """What a user calls the format of extension ``ext`` (".jpg" -> "JPEG", ".webp" -> "WebP")."""
    fmt = IMAGE_FORMATS[ext.lower()]
    return {"WEBP": "WebP"}.get(fmt, fmt)


def _save_filter() -> str:
    """One entry per format, e.g. ``PNG (*.png);;JPEG (*.jpg *.jpeg);;...``."""
    by_format: dict[str, list[str]] = {}
    for ext in IMAGE_FORMATS:
        by_format.setdefault(format_label(ext), []).append(ext)
    return ";;".join(f"{label} ({_patterns(exts)})" for label, exts in by_format.items())


IMAGE_FILTER = f"Images ({_patterns(IMAGE_EXTENSIONS)});;All files (*)"
SAVE_FILTER = _save_filter()
PNG_FILTER = f"PNG (*.png);;Images ({_patterns(IMAGE_EXTENSIONS)})"
LOSSY = {ext for ext, fmt in IMAGE_FORMATS.items() if fmt in LOSSY_FORMATS}  # the quality dialog asks for these
Button = QMessageBox.StandardButton


def sentence(message: str) -> str:
    """A message box's text starts with a capital, as a sentence does. Core errors are
    worded for the command line ("error: cannot read x.jpg: ..."); a first word that is a
    file name ("photo.jpg no longer exists") keeps its case."""
    first = message.split(" ", 1)[0]
    if first.isalpha() and first.islower():
        return message[0].upper() + message[1:]
    return message


def show_error(parent: QWidget | None, message: str, title: str = "Tempera") -> None:
    QMessageBox.critical(parent, title, sentence(message))


def show_info(parent: QWidget | None, message: str, title: str = "Tempera") -> None:
    QMessageBox.information(parent, title, sentence(message))


FILL_RUNNING = " A fill is still running: to keep its result, Cancel and let it finish."
# Qt's own Yes and No carry Alt accelerators; its Save and Discard do not
MNEMONICS = {Button.Save: "&Save", Button.Discard: "&Discard"}


def _ask(icon: QMessageBox.Icon, title: str, text: str, buttons, default, parent: QWidget | None) -> Button:
    """A question box whose buttons answer to Alt+their underlined letter; the button chosen
    (Cancel when the box was closed)."""
    box = QMessageBox(icon, title, text, buttons, parent)
    for which, label in MNEMONICS.items():
        button = box.button(which)
        if button is not None:
            button.setText(label)
    box.setDefaultButton(default)
    return Button(box.exec())


def ask_unsaved(parent: QWidget | None, name: str, filling: bool = False) -> str:
    """"save", "discard" or "cancel" for a document with unsaved changes; ``filling``: a
    fill is still running, and the question says so."""
    answer = _ask(QMessageBox.Icon.Warning, "Unsaved changes",
                  f"{name} has unsaved changes. Save them first?" + (FILL_RUNNING if filling else ""),
                  Button.Save | Button.Discard | Button.Cancel, Button.Save, parent)
    return {Button.Save: "save", Button.Discard: "discard"}.get(answer, "cancel")


def ask_discard_mask(parent: QWidget | None, name: str, filling: bool = False) -> bool:
    """True when the user agrees to drop a mask, sketch or protected area not yet filled
    (the photo itself has no unsaved changes, so Save would not keep them); ``filling``: a
    fill of it is still running, and the question says so."""
    text = (f"A fill of {name} is still running. Discard it with the mask? To keep its result, Cancel and "
            "let it finish." if filling else
            f"{name} has a mask, sketch or protected area that is not filled yet. Discard it? "
            "(File > Export mask keeps a mask as a PNG.)")
    return _ask(QMessageBox.Icon.Question, "Discard the mask?", text, Button.Discard | Button.Cancel, Button.Cancel,
                parent) == Button.Discard


def ask_fill_most(parent: QWidget | None, note: str) -> bool:
    """True when the user still wants a hole that covers most of the photo filled (``note``:
    ``maskops.mostly_hole``'s words): an inverted mask fills everything but the object."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Fill most of the photo?",
                      f"{note[0].upper()}{note[1:]} Ctrl+Shift+I inverts it back. Fill it anyway?",
                      Button.Yes | Button.Cancel, parent)
    box.button(Button.Yes).setText("Fill")
    box.setDefaultButton(Button.Cancel)
    return box.exec() == Button.Yes


def ask_restore(parent: QWidget | None, state: AutosaveState, instead: str | None = None) -> bool:
    """Whether to restore the work of a session that did not end cleanly; ``instead``: the
    photo named on the command line, which a restore leaves unopened (the editor holds one)."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(state.saved_at))
    what = state.name
    choice = (f" Yes opens it instead of {instead}; No discards it and opens {instead}." if instead else "")
    answer = QMessageBox.question(
        parent, "Restore work?",
        f"Tempera was not closed cleanly. Restore the work on {what} from {when}?{choice}",
        Button.Yes | Button.No, Button.Yes)
    return answer == Button.Yes


def ask_stop_batch(parent: QWidget | None) -> bool:
    answer = QMessageBox.question(
        parent, "Stop the batch?",
        "A batch is running. Stop it and close once the photos being filled are done? "
        "Photos already written stay.",
        Button.Yes | Button.No, Button.No)
    return answer == Button.Yes


def ask_open_path(parent: QWidget | None, start: Path | None, title: str = "Open photo",
                  filters: str = IMAGE_FILTER) -> Path | None:
    path, _ = QFileDialog.getOpenFileName(parent, title, str(start or Path.home()), filters)
    return Path(path) if path else None


def ask_folder(parent: QWidget | None, title: str, start: str = "") -> Path | None:
    path = QFileDialog.getExistingDirectory(parent, title, start or str(Path.home()))
    return Path(path) if path else None


def ask_save_path(parent: QWidget | None, suggested: Path, title: str = "Save result",
                  filters: str = SAVE_FILTER, inputs: tuple[Path, ...] = ()) -> Path | None:
    """A path to save to, or None. Never one of ``inputs`` (the photo that was opened): that
    is refused here and asked again, before any question about replacing it. An existing
    file is confirmed here too, after the extension the chosen type adds (Qt's own check
    asks before, about the name without it)."""
    while True:
        # Preselect the filter of the suggested extension, or the dialog hides the other files
        # and the name and the "type" disagree.
        ext = f"*{suggested.suffix.lower()}"
        initial = next((f for f in filters.split(";;") if ext in f.split("(")[-1].rstrip(")").split()), "")
        path, chosen = QFileDialog.getSaveFileName(parent, title, str(suggested), filters, initial,
                                                   QFileDialog.Option.DontConfirmOverwrite)
        if not path:
            return None
        out = Path(path)
        if not out.suffix:  # the filter the user picked decides the extension
            out = out.with_suffix("." + chosen.split("*.")[1].split()[0].rstrip(")")) if "*." in chosen else out
        try:
            refuse_overwrite(out, inputs)
        except TemperaError:
            show_error(parent, f"{out.name} is the photo you opened, and Tempera never saves over it. "
                               "Choose another name or folder.")
            suggested = out
            continue
        if out.exists() and not ask_replace(parent, out):
            suggested = out
            continue
        return out


def ask_replace(parent: QWidget | None, path: Path) -> bool:
    answer = QMessageBox.question(
        parent, "Replace the file?", f"{path.name} already exists in {path.parent}. Replace it?",
        Button.Yes | Button.No, Button.No)
    return answer == Button.Yes


class QualityDialog(QDialog):
    """Quality for a lossy save; for a JPEG from a JPEG, "same as the original" first; for a
    WebP, lossless first."""

    def __init__(self, parent: QWidget | None, path: Path, quality: int,
                 keep: JpegSettings | None = None, lossless: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save options")
        form = QFormLayout(self)
        webp = path.suffix.lower() == ".webp"
        said = "can be lossless or lossy" if webp else "is a lossy format; choose its quality"
        form.addRow(QLabel(f"{path.name}: {format_label(path.suffix)} {said}."))
        self.same: QRadioButton | None = None
        self.exact: QRadioButton | None = None
        if keep is not None:
            self.same = QRadioButton(f"Same as the original ({keep.describe()})")
            self.same.setToolTip("The original's own compression tables and colour subsampling: "
                                 "the file stays about as small as the original and unedited pixels "
                                 "barely change")
            self.same.setChecked(True)
            form.addRow(self.same)
        elif webp:
            self.exact = QRadioButton("Lossless (every pixel kept exactly; a larger file)")
            self.exact.setChecked(lossless)
            form.addRow(self.exact)
        self.spin = QSpinBox()
        self.spin.setRange(1, 100)
        self.spin.setValue(quality)
        self.spin.setToolTip("Higher keeps more detail and makes bigger files; 90–95 is usually invisible")
        first = self.same or self.exact
        if first is not None:
            self.custom = QRadioButton("Quality")
            self.custom.setChecked(not first.isChecked())
            self.spin.setEnabled(self.custom.isChecked())
            self.custom.toggled.connect(self.spin.setEnabled)
            form.addRow(self.custom, self.spin)
        else:
            form.addRow("Quality", self.spin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def value(self) -> int | str:
        if self.same is not None and self.same.isChecked():
            return KEEP
        if self.exact is not None and self.exact.isChecked():
            return LOSSLESS
        return self.spin.value()


def ask_quality(parent: QWidget | None, path: Path, quality: int,
                keep: JpegSettings | None = None, lossless: bool = False) -> int | str | None:
    """JPEG / WebP quality for ``path``: 1-100, KEEP (a JPEG like the original, offered
    when ``keep`` holds a JPEG source's settings), LOSSLESS (a WebP; chosen at first when
    ``lossless``), or None when cancelled."""
    if path.suffix.lower() not in LOSSY:
        return quality
    if path.suffix.lower() not in (".jpg", ".jpeg"):
        keep = None  # a WebP cannot reuse JPEG tables
    dialog = QualityDialog(parent, path, quality, keep, lossless)
    value = dialog.value() if dialog.exec() == QDialog.DialogCode.Accepted else None
    dialog.deleteLater()
    return value


def ask_flatten(parent: QWidget | None, name: str, ext: str) -> str:
    """"flatten", "png" (choose a name that keeps transparency) or "cancel"."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Transparency will be lost",
                      f"{name} has transparent areas, which {ext.upper().lstrip('.')} cannot store.",
                      parent=parent)
    box.setInformativeText("Flatten them onto white, or save as PNG to keep them?")
    flatten = box.addButton("Flatten onto white", QMessageBox.ButtonRole.AcceptRole)
    png = box.addButton("Save as PNG…", QMessageBox.ButtonRole.ActionRole)
    box.addButton(Button.Cancel)
    box.setDefaultButton(png)
    box.exec()
    clicked = box.clickedButton()
    box.deleteLater()
    return "flatten" if clicked is flatten else "png" if clicked is png else "cancel"
