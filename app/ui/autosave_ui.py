"""Debounced autosave: a short timer after each edit, the write on a background thread.

The layers are copied on the GUI thread (milliseconds) and written by one Python worker
thread, so compressing a large sketch never stalls painting; writes stay in order.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import QObject, QTimer

from app.core.autosave import AutosaveState, AutosaveStore
from app.core.document import Document


class AutosaveController(QObject):
    def __init__(self, store: AutosaveStore, delay_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.doc: Document | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.write_now)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tempera-autosave")
        self._last: Future | None = None
        self.errors: list[str] = []

    def set_document(self, doc: Document | None) -> None:
        self._timer.stop()
        self.doc = doc

    def schedule(self) -> None:
        if self.doc is not None:
            self._timer.start()

    def write_now(self) -> None:
        doc = self.doc
        if doc is None:
            return
        # The image is only needed when it is not simply the file on disk.
        keep_image = doc.path is None or doc.image_edited()
        state = AutosaveState(
            source_path=str(doc.path) if doc.path else None,
            mask=doc.mask.copy(), sketch=doc.sketch.copy(),
            image=doc.image.copy() if keep_image else None,
            saved_at=time.time(), image_key=doc.image_version, protect=doc.protect.copy(),
            save_path=str(doc.save_path) if doc.save_path else None, save_quality=doc.save_quality,
        )
        self._last = self._pool.submit(self._write, state)

    def _write(self, state: AutosaveState) -> None:
        try:
            self.store.write(state)
        except OSError as exc:  # a full disk must not take the editor down
            self.errors.append(str(exc))

    def flush(self) -> None:
        """Write a pending change now and wait for it (before quitting)."""
        if self._timer.isActive():
            self._timer.stop()
            self.write_now()
        if self._last is not None:
            self._last.result()

    def clear(self) -> None:
        """After a clean save or close: nothing is left to recover."""
        self._timer.stop()
        if self._last is not None:
            self._last.result()
        self.store.clear()

    def shutdown(self) -> None:
        self._timer.stop()
        self._pool.shutdown(wait=True)
