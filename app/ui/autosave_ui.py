"""Debounced autosave: a short timer after each edit, the write on a background thread.

The layers are copied on the GUI thread (milliseconds) and written by one Python worker
thread, so compressing a large sketch never stalls painting; writes stay in order.

Each running editor owns one slot of the state folder, held by a lock file
(:func:`claim_slot`): the first the folder itself, a second editor started meanwhile
``instance-1``, and so on. A slot whose editor is still running is never offered for
recovery nor cleared by another one; a crashed editor's lock is stale (its process is
gone), so the next editor to start takes that slot and offers its work back.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QTimer

from app.core.autosave import SESSION, AutosaveState, AutosaveStore, state_dir
from app.core.document import Document

MAX_SLOTS = 16  # editors running at once that each autosave; more run without autosave
LOCK_NAME = "owner.lock"


def claim_slot(base: Path | None = None) -> tuple[Path, QLockFile] | None:
    """An autosave folder under ``base`` (default: the state folder) that no running
    editor holds, locked for this one: first one holding a crashed editor's work (so a
    lone editor started later offers it back, whichever slot it was in), else the first
    free one; None when all are held or none can be made."""
    base = Path(base) if base is not None else state_dir()
    folders = [base if n == 0 else base / f"instance-{n}" for n in range(MAX_SLOTS)]
    for folder in [f for f in folders if (f / SESSION).exists()] + folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        lock = QLockFile(str(folder / LOCK_NAME))
        lock.setStaleLockTime(0)  # stale only when its process is gone, however long it ran
        if lock.tryLock(0):
            return folder, lock
    return None


class AutosaveController(QObject):
    """``store`` None: this editor has no autosave slot (MAX_SLOTS others run); edits are
    then not autosaved and nothing is offered back."""

    def __init__(self, store: AutosaveStore | None, delay_ms: int, parent: QObject | None = None,
                 lock: QLockFile | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._lock = lock
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
        if self.doc is not None and self.store is not None:
            self._timer.start()

    def write_now(self) -> None:
        doc = self.doc
        if doc is None or self.store is None:
            return
        # The image is only needed when it is not simply the file on disk.
        keep_image = doc.path is None or doc.image_edited()
        state = AutosaveState(
            source_path=str(doc.path) if doc.path else None,
            mask=doc.mask.copy(), sketch=doc.sketch.copy(),
            image=doc.image.copy() if keep_image else None,
            saved_at=time.time(), image_key=doc.image_version, protect=doc.protect.copy(),
            save_path=str(doc.save_path) if doc.save_path else None, save_quality=doc.save_quality,
            opaque=doc.opaque.copy() if doc.opaque.any() else None,
        )
        self._last = self._pool.submit(self._write, state)

    def _write(self, state: AutosaveState) -> None:
        assert self.store is not None  # write_now checked
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
        if self.store is not None:
            self.store.clear()

    def read(self) -> AutosaveState | None:
        """The work a crashed editor left in this editor's slot, if any."""
        return self.store.read() if self.store is not None else None

    def shutdown(self) -> None:
        self._timer.stop()
        self._pool.shutdown(wait=True)
        if self._lock is not None:  # the slot is free for the next editor
            self._lock.unlock()
            self._lock = None
