"""Batch export: a folder of photos + masks (+ sketches) filled into an output folder by
``app.inference.batch.run_batch`` on a worker thread, with progress, cancel and a summary."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from app.core.errors import TemperaError
from app.core.imageio import KEEP
from app.core.names import BATCH_FORMATS, EDITOR_ENGINES, editor_words, engine_label
from app.core.settings import Settings
from app.ui import dialogs


class BatchWorker(QObject):
    started = Signal(int, int, str)  # number (from 1), total, name: about to be filled
    progress = Signal(int, int, str)
    done = Signal(str, bool, str)  # summary text, all ok, its headline (BatchReport.headline)

    def __init__(self, args: dict) -> None:
        super().__init__()
        self.args = args
        self.cancelled = threading.Event()

    @Slot()
    def run(self) -> None:
        from app.inference.batch import run_batch
        from app.inference.engines import load_engine

        try:
            engine = load_engine(self.args.pop("engine"), self.args.pop("device"))
            report = run_batch(**self.args, engine=engine,
                               progress=lambda d, t, n: self.progress.emit(d, t, n),
                               started=lambda i, t, n: self.started.emit(i, t, n),
                               cancel=self.cancelled.is_set)
        except TemperaError as exc:
            self.done.emit(f"error: {exc}", False, f"error: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - shown to the user, the editor keeps running
            self.done.emit(f"error: {type(exc).__name__}: {exc}", False, f"error: {type(exc).__name__}")
            return
        self.done.emit(report.summary(editor_words), not report.failed and not report.cancelled, report.headline())


class BatchDialog(QDialog):
    """``feather``: the editor's soft edge in px (0 = off), so a batch fills as the editor
    and ``python main.py batch`` do; the settings' value when not given."""

    def __init__(self, parent: QWidget | None, settings: Settings, feather: int | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._filling: dict[str, str] = {}  # name -> its "Filling n of N" line, while it is
        self.setWindowTitle("Batch export")
        self.setMinimumWidth(560)
        form = QFormLayout(self)
        self.images = self._path_row(form, "Images folder", folder=True)
        self.masks = self._path_row(form, "Masks (folder or file)", folder=True, file=True)
        self.sketches = self._path_row(form, "Sketches (optional)", folder=True)
        self.out = self._path_row(form, "Output folder", folder=True)
        self.fmt = QComboBox()
        for code in BATCH_FORMATS:
            self.fmt.addItem("Same as each photo" if code == "keep" else dialogs.format_label(f".{code}"), code)
        self.fmt.setToolTip("The output files' format (python main.py batch --format)")
        self.fmt.setCurrentIndex(max(0, self.fmt.findData(settings.batch_format)))
        for key, edit in self._edits().items():
            edit.setText(settings.batch_paths.get(key, ""))
        form.addRow("Format", self.fmt)
        self.quality = QSpinBox()
        self.quality.setRange(0, 100)
        self.quality.setSpecialValueText("Same as each photo")  # shown for 0 (= KEEP)
        self.quality.setValue(settings.batch_quality)
        self.quality.setToolTip("JPEG / WebP / AVIF quality. Same as each photo: a JPEG written as JPEG keeps "
                                "its own quality and colour subsampling; every other output gets 95")
        form.addRow("Quality", self.quality)
        self.feather = QSpinBox()
        self.feather.setRange(0, 100)
        self.feather.setSuffix(" px")
        self.feather.setSpecialValueText("Off")
        self.feather.setValue(settings.feather_px if feather is None else feather)
        self.feather.setToolTip("Blend each fill's edge into the photo over this many pixels "
                                "(the editor's Feather; python main.py batch --feather PX)")
        form.addRow("Feather", self.feather)
        self.engine = QComboBox()
        for name in EDITOR_ENGINES:
            self.engine.addItem(engine_label(name), name)
        self.engine.setCurrentIndex(max(0, self.engine.findData(settings.engine)))
        self.engine.setToolTip("The engine that fills every photo (the editor's, unless you pick another)")
        form.addRow("Engine", self.engine)
        self.skip = QCheckBox("Skip photos whose output already exists")
        self.skip.setToolTip("Resume an interrupted batch: outputs already in the folder are left alone")
        form.addRow(self.skip)
        self.bar = QProgressBar()
        self.bar.setFormat("%v of %m")  # photos done, not a rounded percentage
        form.addRow(self.bar)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumHeight(140)
        form.addRow(self.log)
        row = QHBoxLayout()
        self.start = QPushButton("Start")
        self.start.clicked.connect(self.start_batch)
        self.stop = QPushButton("Cancel")
        self.stop.setEnabled(False)
        self.stop.clicked.connect(self.cancel_batch)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        row.addStretch(1)
        for b in (self.start, self.stop, close):
            row.addWidget(b)
        form.addRow(row)
        self.thread: QThread | None = None
        self.worker: BatchWorker | None = None
        self.last_summary: str | None = None  # the last run's report
        self.last_headline: str | None = None  # its counts and folder, for the window's status line
        self._close_when_done = False

    def _edits(self) -> dict[str, QLineEdit]:
        return {"images": self.images, "masks": self.masks, "sketches": self.sketches, "out": self.out}

    def _path_row(self, form: QFormLayout, label: str, *, folder: bool, file: bool = False) -> QLineEdit:
        edit = QLineEdit()
        row = QHBoxLayout()
        row.addWidget(edit)
        if folder:
            b = QToolButton(text="Folder…")
            b.clicked.connect(lambda: self._browse(edit, label, True))
            row.addWidget(b)
        if file:
            b = QToolButton(text="File…")
            b.clicked.connect(lambda: self._browse(edit, label, False))
            row.addWidget(b)
        form.addRow(label, row)
        return edit

    def _browse(self, edit: QLineEdit, title: str, folder: bool) -> None:
        path = (dialogs.ask_folder(self, title, edit.text()) if folder
                else dialogs.ask_open_path(self, Path(edit.text() or Path.home()), title))
        if path is not None:
            edit.setText(str(path))

    def start_batch(self) -> None:
        paths = {key: edit.text().strip() for key, edit in self._edits().items()}
        missing = [name for name, key in (("images folder", "images"), ("masks", "masks"),
                                          ("output folder", "out")) if not paths[key]]
        if missing:
            names = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} and {missing[-1]}"
            dialogs.show_error(self, f"Choose the {names} first.")
            return
        self.settings.batch_paths = {key: path for key, path in paths.items() if path}
        self.settings.batch_format = self.fmt.currentData()
        self.settings.batch_quality = self.quality.value()
        args = {"images_dir": paths["images"], "masks": paths["masks"],
                "out_dir": paths["out"], "sketches": paths["sketches"] or None,
                "fmt": self.fmt.currentData(), "quality": self.quality.value() or KEEP,
                "skip_existing": self.skip.isChecked(), "feather": self.feather.value(),
                "engine": self.engine.currentData(), "device": self.settings.device}
        try:
            Path(args["out_dir"]).mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file in the way, no permission: say so, do not raise in a slot
            dialogs.show_error(self, f"cannot create the output folder {args['out_dir']}: {exc.strerror or exc}")
            return
        self.log.setPlainText("Loading the engine…")
        self._filling = {}
        self.bar.setFormat("%v of %m")
        self.bar.setRange(0, 0)
        self.thread = QThread(self)
        self.worker = BatchWorker(args)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.started.connect(self._started)
        self.worker.progress.connect(self._progress)
        self.worker.done.connect(self._done)
        self.start.setEnabled(False)
        self.stop.setEnabled(True)
        self.thread.start()

    def _started(self, number: int, total: int, name: str) -> None:
        """An image is being filled; with an engine that fills one photo per core, several
        are at once: one line each."""
        if self.bar.maximum() == 0:  # the first photo: from "busy" to a count
            self.bar.setRange(0, total)
            self.bar.setValue(0)
        self._filling[name] = self._filling_line(number, total, name)
        self._show_filling()

    def _filling_line(self, number: int, total: int, name: str) -> str:
        """"Filling n of N: name…" on one line of the log: a long name loses its middle."""
        prefix = f"Filling {number} of {total}: "
        metrics = self.log.fontMetrics()
        room = self.log.viewport().width() - metrics.horizontalAdvance(prefix + "…") - 2 * metrics.averageCharWidth()
        room = max(room, 24 * metrics.averageCharWidth())  # before the dialog is laid out
        return f"{prefix}{metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, room)}…"

    def _progress(self, done: int, total: int, name: str) -> None:
        self.bar.setRange(0, total)
        self.bar.setValue(done)
        self._filling.pop(name, None)
        if self._filling:
            self._show_filling()

    def _show_filling(self) -> None:
        self.log.setPlainText("\n".join(self._filling.values()))
        if self.worker is not None and self.worker.cancelled.is_set():
            self.log.appendPlainText(self._cancelling())

    def _cancelling(self) -> str:
        return "Cancelling after this image…" if len(self._filling) <= 1 else "Cancelling after these images…"

    def _done(self, summary: str, ok: bool, headline: str = "") -> None:
        self.log.setPlainText(summary)
        self.last_summary = summary
        self.last_headline = headline or summary.splitlines()[0]
        if self.bar.maximum() == 0:  # still "busy": it stopped before the first photo
            self.bar.setRange(0, 1)
            self.bar.setValue(1 if ok else 0)
            self.bar.setFormat("")  # no count of photos it never got to (the log says why)
        # else the bar keeps how far it got: every photo when every one was tried (failures
        # are in the summary), fewer after a cancel
        self._stop_thread()
        self.start.setEnabled(True)
        self.stop.setEnabled(False)
        for box in self.findChildren(QMessageBox):  # "Stop the batch?" still open: nothing to stop now
            yes = box.button(QMessageBox.StandardButton.Yes)
            if box.isVisible() and yes is not None:
                yes.click()  # answered for the user: the Close asked for goes ahead (reject)
        if self._close_when_done:  # Close was asked for while it ran: the window shows the summary
            self._close_when_done = False
            super().reject()

    def cancel_batch(self) -> None:
        if self.worker is not None:
            self.worker.cancelled.set()
            self.log.appendPlainText(self._cancelling())

    def _stop_thread(self) -> None:
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait()
            self.thread = None
            self.worker = None

    def reject(self) -> None:
        """Close / Esc. While a batch runs it asks first; stopping lets the photos being
        filled finish, then the dialog closes and the window's status line gives the
        summary (``last_summary``), so nothing stops unseen."""
        if self.worker is not None:
            stop = self.worker.cancelled.is_set() or dialogs.ask_stop_batch(self)
            if self.worker is None:  # it finished while the question was open: close now
                if stop:
                    super().reject()
                return
            if stop:
                if not self.worker.cancelled.is_set():
                    self.cancel_batch()
                self._close_when_done = True
            return
        self._stop_thread()
        super().reject()
