"""Opening (dialog, drop, recent files), pasting, copying, saving, importing and exporting,
for the main window.

Every failure that is the file's fault arrives as a TemperaError and is shown as its one
line in a message box; the document on screen is left as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import cv2
import numpy as np
from PySide6.QtCore import QEventLoop, QMimeData, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QImage

from app.core.document import Document, save_layer_png
from app.core.errors import TemperaError
from app.core.image_open import WEBP_LOSSLESS
from app.core.imageio import (
    IMAGE_SUFFIXES,
    LOSSLESS,
    alpha_would_be_lost,
    load_image,
    load_mask,
    load_note,
    load_sketch,
    save_image,
)
from app.core.settings import save_settings
from app.ui import dialogs
from app.ui.commands import edits_pixels, replace_layers
from app.ui.qimage import qimage_to_rgb, rgba_image

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

T = TypeVar("T")
SAVE_POLL_MS = 20  # how often the window looks whether a save in the background is done


class FileController:
    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self.last_dir: Path | None = None
        self.saving = False  # a save is being written (_in_background)

    @property
    def doc(self) -> Document | None:
        return self.w.doc

    # -- unsaved changes ----------------------------------------------------------------
    def is_modified(self) -> bool:
        """Edits since the last save (the title's star), or a pasted / dropped image that was
        never saved (it exists nowhere else: quitting must not lose it silently)."""
        doc = self.doc
        if doc is None:
            return False
        return not self.w.undo_stack.isClean() or (doc.path is None and doc.save_path is None)

    def pixels_modified(self) -> bool:
        """Whether Save would keep something: pixels that differ from the last save (a fill,
        a variation picked), or a never-saved pasted image. A mask, sketch or protected area
        is not part of the file (:meth:`unfilled_work`)."""
        doc = self.doc
        if doc is None:
            return False
        return (doc.path is None and doc.save_path is None) or self._pixels_changed()

    def _pixels_changed(self) -> bool:
        """Whether the commands between the saved state and now change the photo's pixels."""
        stack = self.w.undo_stack
        if stack.isClean():
            return False
        clean, now = stack.cleanIndex(), stack.index()
        if clean < 0:  # the saved state can no longer be reached by undo or redo
            return True
        lo, hi = sorted((clean, now))
        return any(edits_pixels(stack.command(i)) for i in range(lo, hi))

    def unfilled_work(self) -> bool:
        """A mask, sketch or protected area painted since the last save (or open) that is
        still there: closing would lose it, though the photo itself is unmodified."""
        doc = self.doc
        if doc is None or self.w.undo_stack.isClean():
            return False
        return bool(doc.mask.any() or doc.sketch.any() or doc.protect.any())

    def confirm_discard(self) -> bool:
        """True when it is fine to drop the current document (saved, or the user agreed).
        Unsaved pixels ask Save / Discard / Cancel; a mask or strokes alone, which Save would
        not keep, ask Discard / Cancel. A fill still running is named in the question, and
        if one lands while the question is open (the photo changed under it), the answer was
        to another question: it is asked again, so a finished fill is never dropped unseen."""
        while True:
            doc = self.doc
            if doc is None:
                return True
            state = self._work_state()
            filling = self.w.inference.filling
            if self.pixels_modified():
                answer = dialogs.ask_unsaved(self.w, doc.name, filling)
                if answer == "save":
                    return self.save()
                agreed = answer == "discard"
            elif self.unfilled_work():  # saving would not keep it: the question is whether to drop it
                agreed = dialogs.ask_discard_mask(self.w, doc.name, filling)
            else:
                return True
            if not agreed:
                return False
            if self._work_state() == state:
                return True

    def _work_state(self) -> tuple[int, int, int] | None:
        """What a question about the current work was asked about: the document, its pixels'
        version and the undo step (a fill that lands changes them)."""
        doc = self.doc
        return None if doc is None else (id(doc), doc.image_version, self.w.undo_stack.index())

    # -- opening ------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path = dialogs.ask_open_path(self.w, self.last_dir)
        if path is not None:
            self.open_path(path)

    def open_path(self, path: Path | str, *, confirm: bool = True) -> bool:
        path = Path(path)
        try:  # read first: a file that cannot be opened must not cost the current work a question
            loaded = load_image(path)
        except TemperaError as exc:
            dialogs.show_error(self.w, str(exc))
            return False
        if confirm and not self.confirm_discard():
            return False
        self.last_dir = path.absolute().parent  # a name given on the command line is relative
        self.w.set_document(Document(loaded.rgb, source=loaded, path=path))
        self.w.settings.add_recent(path)
        self._recent_changed()
        note = load_note(loaded)
        if note:  # saved with 8 bits per channel, or its first frame only: say so before any work is done
            self.w.statusBar().showMessage(note, 10000)
        else:  # nothing said about the last photo is true of this one
            self.w.statusBar().clearMessage()
        return True

    # -- recent files -------------------------------------------------------------------
    def _recent_changed(self) -> None:
        self.w.rebuild_recent_menu()
        try:  # now, not at exit: a crash should not lose the recent list
            save_settings(self.w.settings)
        except OSError:
            pass  # a read-only config folder only costs the recent list

    def prune_recent(self) -> None:
        """Drop recent files that no longer exist (checked each time the menu opens)."""
        kept = [p for p in self.w.settings.recent_files if Path(p).is_file()]
        if kept != self.w.settings.recent_files:
            self.w.settings.recent_files = kept
            self._recent_changed()

    def open_recent(self, path: str) -> bool:
        if not Path(path).is_file():
            dialogs.show_error(self.w, f"{path} no longer exists; it was removed from the recent files")
            self.prune_recent()
            return False
        return self.open_path(path)

    def clear_recent(self) -> None:
        self.w.settings.recent_files = []
        self._recent_changed()

    # -- clipboard and drops ------------------------------------------------------------
    def paste(self) -> None:
        self.open_mime(QGuiApplication.clipboard().mimeData())

    def copy(self) -> bool:
        """The current result (with the photo's transparency) onto the clipboard."""
        doc = self.doc
        if doc is None:
            self.w.statusBar().showMessage("Nothing to copy: open or paste a photo first", 4000)
            return False
        alpha = doc.alpha()
        if alpha is None:
            alpha = np.full(doc.size_hw, 255, np.uint8)
        image: QImage = rgba_image(np.dstack([doc.image, alpha]))
        QGuiApplication.clipboard().setImage(image)
        self.w.statusBar().showMessage(f"Copied the result ({doc.width} × {doc.height}) to the clipboard", 4000)
        return True

    @staticmethod
    def droppable(mime: QMimeData | None) -> bool:
        """Whether a drag carries something we can open (an image file, or image data)."""
        if mime is None:
            return False
        if mime.hasImage():
            return True
        return any(u.isLocalFile() and Path(u.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES
                   for u in mime.urls())

    def drop(self, mime: QMimeData) -> bool:
        """Open what was dropped once the drop has finished: the unsaved-changes question
        must not be asked from inside the drag and drop (the source waits for it)."""
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if files:
            QTimer.singleShot(0, lambda: self.open_path(files[0]))
            return True
        if mime.hasImage():
            image = QImage(mime.imageData())  # a copy: the drop's data goes away with it
            QTimer.singleShot(0, lambda: self._open_qimage(image, "the dropped image"))
            return True
        return False

    def open_mime(self, mime: QMimeData | None) -> bool:
        """Clipboard: local files first, then raw image data, as a new untitled document."""
        if mime is None:
            return False
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if files:
            return self.open_path(files[0])
        if mime.hasImage():
            return self._open_qimage(mime.imageData(), "the clipboard image")
        self.w.statusBar().showMessage("The clipboard holds no image", 4000)
        return False

    def _open_qimage(self, image: QImage | None, what: str) -> bool:
        if image is None or image.isNull():
            dialogs.show_error(self.w, f"{what} could not be read")
            return False
        if not self.confirm_discard():
            return False
        self.w.set_document(Document(qimage_to_rgb(image)))
        # the status line still said what came before (a copy, a save): say what happened
        self.w.statusBar().showMessage(f"A new photo from {what} ({image.width()} x {image.height()}); "
                                       "Ctrl+S saves it", 6000)
        return True

    # -- saving -------------------------------------------------------------------------
    def _fill_running(self) -> bool:
        """A save while a fill is on its way would write the photo without it: say so instead."""
        if not self.w.inference.filling:
            return False
        self.w.statusBar().showMessage("A fill is still running: save once it is done (Esc cancels it)", 6000)
        return True

    def save(self) -> bool:
        doc = self.doc
        if doc is None or self._fill_running():
            return False
        if doc.save_path is None:  # first save: never straight over the original
            return self.save_as()
        # Save As asked about quality and transparency for this name already.
        return self._write(doc.save_path, doc.save_quality, flatten=True)

    def save_as(self) -> bool:
        doc = self.doc
        if doc is None or self._fill_running():
            return False
        folder = (doc.save_path or doc.path or (self.last_dir or Path.home()) / "x").parent
        # the name saved under, as other editors suggest it; else <name>-inpainted beside it
        suggested = doc.save_path or folder / doc.suggested_save_name()
        alpha = doc.alpha()  # filled pixels are opaque
        while True:
            path = dialogs.ask_save_path(self.w, suggested, "Save result", dialogs.SAVE_FILTER, self._inputs())
            if path is None:
                return False
            if not alpha_would_be_lost(path, alpha):
                break
            answer = dialogs.ask_flatten(self.w, doc.name, path.suffix)
            if answer == "flatten":
                break
            if answer != "png":
                return False
            suggested = path.with_suffix(".png")  # ask again, with a name that keeps it
        # lossless first for a WebP saved as one before, or opened as one
        lossless = doc.save_quality == LOSSLESS or getattr(doc.source, "compression", None) == WEBP_LOSSLESS
        # this photo's last quality, else the one Preferences sets (which a save leaves as it is)
        offered = doc.save_quality if isinstance(doc.save_quality, int) else self.w.settings.save_quality
        quality = dialogs.ask_quality(self.w, path, offered, getattr(doc.source, "jpeg", None), lossless=lossless)
        if quality is None:
            return False
        if not self._write(path, quality, flatten=True):
            return False
        doc.save_quality = quality
        return True

    def _write(self, path: Path, quality: int | str, *, flatten: bool = False) -> bool:
        doc = self.doc
        assert doc is not None
        src = doc.source
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        self.w.statusBar().showMessage(f"Saving {path.name}…")
        try:
            written = self._in_background(lambda: save_image(
                path, doc.image,
                alpha=doc.alpha(), icc_profile=getattr(src, "icc_profile", None),
                exif=getattr(src, "exif", None), quality=quality, jpeg=getattr(src, "jpeg", None),
                original=doc.original, flatten=flatten, gray=bool(getattr(src, "gray", False)),
                compression=getattr(src, "compression", None), meta=getattr(src, "meta", None),
                protect=(doc.path,) if doc.path is not None else (),
            ))
        except TemperaError as exc:
            QGuiApplication.restoreOverrideCursor()
            self.w.statusBar().clearMessage()
            dialogs.show_error(self.w, str(exc))
            return False
        QGuiApplication.restoreOverrideCursor()
        doc.save_path = Path(written)
        self.last_dir = doc.save_path.parent
        self.w.settings.add_recent(doc.save_path)  # Open recent lists what was saved, too
        self._recent_changed()
        self.w.undo_stack.setClean()
        self.w.autosave.clear()
        self.w.update_title()
        bits = int(getattr(src, "bits", 8) or 8)
        deeper = f" with 8 bits per channel (the photo has {bits})" if bits > 8 else ""  # said when it happens
        self.w.statusBar().showMessage(f"Saved {doc.save_path}{deeper}", 8000 if deeper else 5000)
        return True

    def _in_background(self, work: Callable[[], T]) -> T:
        """``work()`` on a thread of its own while the window keeps painting (a 24 MP PNG
        takes seconds to compress); clicks and keys wait until it is done, so the document
        cannot change under the write. :attr:`saving` is set meanwhile (closing waits)."""
        self.saving = True
        try:
            with ThreadPoolExecutor(1, thread_name_prefix="tempera-save") as pool:
                future = pool.submit(work)
                loop = QEventLoop()
                timer = QTimer(interval=SAVE_POLL_MS)
                timer.timeout.connect(lambda: future.done() and loop.quit())
                timer.start()
                if not future.done():
                    loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
                timer.stop()
                return future.result()
        finally:
            self.saving = False

    # -- mask and sketch files ----------------------------------------------------------
    def import_layer(self, layer: str) -> None:
        doc = self.doc
        if doc is None:
            return
        path = dialogs.ask_open_path(self.w, self.last_dir, f"Import {layer}", dialogs.PNG_FILTER)
        if path is None:
            return
        try:
            data = (load_sketch if layer == "sketch" else load_mask)(path, doc.size_wh)
        except TemperaError as exc:
            dialogs.show_error(self.w, str(exc))
            return
        layers = {layer: np.asarray(data)}
        grown = away = 0
        if layer == "sketch":  # in the same step, the hole grows to give its strokes room, as with the pen
            strokes = layers["sketch"] > 127
            # With a hole painted, only the strokes in it count, as on the command line: a
            # sketch of the whole photo must not turn every edge into hole. Without one, the
            # strokes draw it, as the pen's do.
            counted = strokes & doc.mask if doc.mask.any() else strokes
            mask = doc.mask | self._around_strokes(counted)
            grown = int(np.count_nonzero(mask & ~doc.mask))
            away = int(np.count_nonzero(strokes & ~mask))
            layers["mask"] = mask
        command = replace_layers(doc, f"Import {layer}", **layers)
        if command is not None:
            self.w.undo_stack.push(command)
        if grown and not away:
            self.w.show_grown_hole(grown)
        else:  # say what came in, and that it is there even with its overlay hidden
            count = int(np.count_nonzero(layers[layer]))
            hidden = not getattr(self.w.actions_, f"show_{layer}").isChecked()
            self.w.statusBar().showMessage(
                f"Imported the {layer} from {path.name}: {count:,} px"
                + (f" (hidden: Show {layer} is off)" if hidden else "")
                + (f", {away:,} of them outside the hole (fills follow strokes inside it only)" if away else ""),
                8000)

    def _around_strokes(self, strokes: np.ndarray) -> np.ndarray:
        """The strokes (bool) plus the pen's hole margin on each side."""
        strokes = strokes.astype(np.uint8)
        margin = self.w.tools.hole_margin
        if margin <= 0 or not strokes.any():
            return strokes.astype(bool)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
        return cv2.dilate(strokes, kernel).astype(bool)

    def _inputs(self) -> tuple[Path, ...]:
        """What no save or export may write over: the photo that was opened."""
        doc = self.doc
        return (doc.path,) if doc is not None and doc.path is not None else ()

    def export_layer(self, layer: str) -> None:
        doc = self.doc
        if doc is None:
            return
        if not doc.layer(layer).any():  # an all-black PNG is never what was meant
            after_fill = layer == "mask" and doc.last_mask is not None and doc.last_mask.any()
            dialogs.show_info(self.w, f"Nothing to export: the {layer} is empty." + (
                " The last fill used its mask; Edit > Restore last mask (Ctrl+Shift+M) brings it back."
                if after_fill else ""))
            return
        stem = doc.path.stem if doc.path else "pasted"
        folder = (doc.path or (self.last_dir or Path.home()) / "x").parent
        path = dialogs.ask_save_path(self.w, folder / f"{stem}-{layer}.png", f"Export {layer}", dialogs.PNG_FILTER,
                                     self._inputs())
        if path is None:
            return
        try:
            written = save_layer_png(path, doc.layer(layer), protect=self._inputs())
        except TemperaError as exc:
            dialogs.show_error(self.w, str(exc))
            return
        self.w.statusBar().showMessage(f"Exported the {layer} to {written}", 5000)
