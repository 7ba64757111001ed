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
    finished = Signal(object)  # (doc, patch or None, value) once a selection is done
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.running = 0
        self._threads: list[threading.Thread] = []
        self.finished.connect(self._one_done)

    @property
    def busy(self) -> bool:
        return self.running > 0

    def start(self, doc: Document, box: Box | None, point: Point | None, value: bool) -> None:
        """Select the object in ``box`` (or under the click ``point``) of the current image."""
        image = doc.image.copy()  # a fill may change the image while GrabCut reads it
        self.running += 1
        if self.running == 1:
            self.busy_changed.emit(True)
        thread = threading.Thread(target=self._run, args=(doc, image, box, point, value),
                                  name="tempera-select", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _run(self, doc: Document, image: np.ndarray, box: Box | None, point: Point | None, value: bool) -> None:
        try:
            patch = select_object(image, box, point=point)
        except Exception:  # noqa: BLE001 - a failed cut selects nothing; the editor goes on
            patch = None
        try:
            self.finished.emit((doc, patch, value))
        except RuntimeError:  # the window is gone
            pass

    def _one_done(self, _result: object) -> None:
        self.running -= 1
        if self.running == 0:
            self.busy_changed.emit(False)

    def wait(self, timeout: float = 60.0) -> None:
        """Join running selections (tests); their results still arrive as queued signals."""
        for t in self._threads:
            t.join(timeout)
