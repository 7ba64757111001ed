"""Opening, pasting, saving, importing and exporting, for the main window.

Every failure that is the file's fault arrives as a TemperaError and is shown as its one
line in a message box; the document on screen is left as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication

from app.core.document import Document, save_layer_png
from app.core.errors import TemperaError
from app.core.imageio import load_image, load_mask, load_sketch, save_image
from app.core.settings import save_settings
from app.ui import dialogs
from app.ui.commands import replace_layers
from app.ui.qimage import qimage_to_rgb

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow


class FileController:
    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self.last_dir: Path | None = None

    @property
    def doc(self) -> Document | None:
        return self.w.doc

    # -- unsaved changes ----------------------------------------------------------------
    def is_modified(self) -> bool:
        return self.doc is not None and not self.w.undo_stack.isClean()

    def confirm_discard(self) -> bool:
        """True when it is fine to drop the current document (saved, or the user agreed)."""
        if not self.is_modified():
            return True
        answer = dialogs.ask_unsaved(self.w, self.doc.name)  # type: ignore[union-attr]
        if answer == "save":
            return self.save()
        return answer == "discard"

    # -- opening ------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path = dialogs.ask_open_path(self.w, self.last_dir)
        if path is not None:
            self.open_path(path)

    def open_path(self, path: Path | str, *, confirm: bool = True) -> bool:
        path = Path(path)
        if confirm and not self.confirm_discard():
            return False
        try:
            loaded = load_image(path)
        except TemperaError as exc:
            dialogs.show_error(self.w, str(exc))
            return False
        self.last_dir = path.parent
        self.w.set_document(Document(loaded.rgb, source=loaded, path=path))
        self.w.settings.add_recent(path)
        self.w.rebuild_recent_menu()
        try:  # now, not at exit: a crash should not lose the recent list
            save_settings(self.w.settings)
        except OSError:
            pass  # a read-only config folder only costs the recent list
        return True

    def paste(self) -> None:
        self.open_mime(QGuiApplication.clipboard().mimeData())

    def open_mime(self, mime: QMimeData | None) -> bool:
        """Clipboard or drop: local files first, then raw image data."""
        if mime is None:
            return False
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if files:
            return self.open_path(files[0])
        if mime.hasImage():
            image = mime.imageData()
            if image is None or image.isNull():
                dialogs.show_error(self.w, "the clipboard image could not be read")
                return False
            if not self.confirm_discard():
                return False
            self.w.set_document(Document(qimage_to_rgb(image)))
            return True
        self.w.statusBar().showMessage("The clipboard holds no image", 4000)
        return False

    # -- saving -------------------------------------------------------------------------
    def save(self) -> bool:
        doc = self.doc
        if doc is None:
            return False
        if doc.save_path is None:  # first save: never straight over the original
            return self.save_as()
        return self._write(doc.save_path, self.w.settings.save_quality)

    def save_as(self) -> bool:
        doc = self.doc
        if doc is None:
            return False
        folder = (doc.save_path or doc.path or (self.last_dir or Path.home()) / "x").parent
        path = dialogs.ask_save_path(self.w, folder / doc.suggested_save_name())
        if path is None:
            return False
        quality = dialogs.ask_quality(self.w, path, self.w.settings.save_quality)
        if quality is None:
            return False
        self.w.settings.save_quality = quality
        return self._write(path, quality)

    def _write(self, path: Path, quality: int) -> bool:
        doc = self.doc
        assert doc is not None
        src = doc.source
        try:
            written = save_image(
                path, doc.image,
                alpha=getattr(src, "alpha", None), icc_profile=getattr(src, "icc_profile", None),
                exif=getattr(src, "exif", None), quality=quality,
                protect=(doc.path,) if doc.path is not None else (),
            )
        except TemperaError as exc:
            dialogs.show_error(self.w, str(exc))
            return False
        doc.save_path = Path(written)
        self.last_dir = doc.save_path.parent
        self.w.undo_stack.setClean()
        self.w.autosave.clear()
        self.w.update_title()
        self.w.statusBar().showMessage(f"Saved {doc.save_path}", 5000)
        return True

    # -- mask and sketch files ----------------------------------------------------------
    def import_layer(self, layer: str) -> None:
        doc = self.doc
        if doc is None:
            return
        path = dialogs.ask_open_path(self.w, self.last_dir, f"Import {layer}", dialogs.PNG_FILTER)
        if path is None:
            return
        try:
            data = (load_mask if layer == "mask" else load_sketch)(path, doc.size_wh)
        except TemperaError as exc:
            dialogs.show_error(self.w, str(exc))
            return
        command = replace_layers(doc, f"Import {layer}", **{layer: np.asarray(data)})
        if command is not None:
            self.w.undo_stack.push(command)

    def export_layer(self, layer: str) -> None:
        doc = self.doc
        if doc is None:
            return
        stem = doc.path.stem if doc.path else "pasted"
        folder = (doc.path or (self.last_dir or Path.home()) / "x").parent
        path = dialogs.ask_save_path(self.w, folder / f"{stem}-{layer}.png", f"Export {layer}", dialogs.PNG_FILTER)
        if path is None:
            return
        try:
            written = save_layer_png(path, doc.layer(layer))
        except TemperaError as exc:
            dialogs.show_error(self.w, str(exc))
            return
        self.w.statusBar().showMessage(f"Exported the {layer} to {written}", 5000)
