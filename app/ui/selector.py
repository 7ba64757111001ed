"""Object selection off the GUI thread: GrabCut (app/core/select.py) takes a second or
more on a large photo, so it runs in a Python thread (OpenCV releases the GIL) and the
result comes back through a queued signal. Painting goes on meanwhile; a result for a
photo that was replaced is dropped.
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.core.brush import Box, Point
from app.core.document import Document
from app.core.select import select_object


class ObjectSelector(QObject):
    finished = Signal(object)  # (doc, patch or None, value, ticket) once a selection is done
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: list[threading.Thread] = []
        self._running: set[int] = set()  # the tickets of the selections running now
        self._started = 0  # selections started so far: each one's ticket
        self._dropped = 0  # tickets up to this one were cancelled: their results are dropped
        self.finished.connect(self._one_done)

    @property
    def busy(self) -> bool:
        """Whether a selection that is still wanted runs (a cancelled one may still run)."""
        return any(self.wanted(t) for t in self._running)

    def start(self, doc: Document, box: Box | None, point: Point | None, value: bool) -> None:
        """Select the object in ``box`` (or under the click ``point``) of the current image."""
        image = doc.image.copy()  # a fill may change the image while GrabCut reads it
        was_busy = self.busy
        self._started += 1
        self._running.add(self._started)
        if not was_busy:
            self.busy_changed.emit(True)
        thread = threading.Thread(target=self._run, args=(doc, image, box, point, value, self._started),
                                  name="tempera-select", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _run(self, doc: Document, image: np.ndarray, box: Box | None, point: Point | None, value: bool,
             ticket: int) -> None:
        try:  # a cancelled one stops at its next GrabCut iteration, freeing the core
            patch = select_object(image, box, point=point, stop=lambda: not self.wanted(ticket))
        except Exception:  # noqa: BLE001 - stopped, or a failed cut: it selects nothing; the editor goes on
            patch = None
        try:
            self.finished.emit((doc, patch, value, ticket))
        except RuntimeError:  # the window is gone
            pass

    def cancel(self) -> bool:
        """Drop the selections running now (Esc, another tool): each stops at its next GrabCut
        iteration, and what it found is not used. Whether any was running."""
        if not self.busy:
            return False
        self._dropped = self._started
        self.busy_changed.emit(False)  # for the user it is over; the threads end within an iteration
        return True

    def wanted(self, ticket: int) -> bool:
        """Whether the selection with this ticket was not cancelled."""
        return ticket > self._dropped

    def _one_done(self, result: tuple) -> None:
        was_busy = self.busy
        self._running.discard(result[-1])
        if was_busy and not self.busy:
            self.busy_changed.emit(False)

    def wait(self, timeout: float = 60.0) -> None:
        """Join running selections (tests); their results still arrive as queued signals."""
        for t in self._threads:
            t.join(timeout)
