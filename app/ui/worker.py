"""Inference off the GUI thread: one worker QObject living in a QThread.

A forward pass cannot be interrupted, so requests are immutable snapshots with ids. The
``InferenceController`` (GUI thread) keeps at most one request running and one pending; a
newer request replaces the pending one, Esc marks the running one as abandoned, and any
result whose id is not the latest is dropped (napari's ``_layer_slicer`` does the same).
An abandoned fill stops at the next boundary between its parts (the network's fill, each
hole region's patch search), so a photo with many holes does not keep the machine busy; a
large hole's search, which runs in a child process, is ended at once (its heartbeat raises).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core.document import Snapshot
from app.core.errors import TemperaError
from app.core.fill_result import FillResult
from app.core.names import engine_label

log = logging.getLogger(__name__)

FILL_STOPPED = "The cancelled fill has stopped"


class _Abandoned(Exception):
    """Raised from a fill's progress callback once its request is no longer wanted."""


@dataclass(frozen=True)
class EngineInfo:
    name: str
    device: str
    notice: str | None
    guided: bool
    randomized: bool = False  # whether the seed changes its fills (variations are worth computing)
    devices: tuple[str, ...] = ()  # the device choices that can run here (available_devices)


@dataclass(frozen=True)
class Request:
    kind: str  # "fill" or "explain"
    snapshot: Snapshot
    point: tuple[int, int] | None = None
    extra: dict = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.snapshot.request_id

    @property
    def candidate(self) -> bool:
        """A background variation of a fill already in the photo (the variation controller's
        request), not a fill the user asked for."""
        return self.kind == "fill" and "variation" in self.extra


def _is_gpu(device: str) -> bool:
    return not device.lower().startswith("cpu")  # engines report "CPU", "CUDA (…)", "MPS"


class InferenceWorker(QObject):
    """Runs in the worker thread. Slots are invoked through queued signals."""

    engine_loaded = Signal(object)  # EngineInfo
    engine_failed = Signal(str)
    progress = Signal(str)
    finished = Signal(int, object, float)  # request id, result, seconds
    failed = Signal(int, str)
    notice = Signal(object)  # str | None: what the last fill's result had to say

    def __init__(self) -> None:
        super().__init__()
        self.engine = None
        self._wanted_engine = ("auto", "auto")
        # the request the window waits for, set by the controller from the GUI thread (an
        # int is replaced whole, so this thread reads one or the other); None: any
        self.wanted_request: int | None = None

    @Slot(str, str)
    def load(self, name: str, device: str) -> None:
        from app.inference.engines import load_engine  # torch loads here, off the GUI thread

        self._wanted_engine = (name, device)
        self.progress.emit(f"Loading {engine_label(name)}…")
        notice = None
        try:
            try:
                engine = load_engine(name, device)
                self.progress.emit(f"Warming up {engine_label(engine.name)} on {engine.device}…")
                engine.warmup()
            except Exception as exc:
                if device == "cpu":
                    raise
                notice = f"{device} failed ({_one_line(exc)}); using the CPU"
                log.warning(notice)
                engine = load_engine(name, "cpu")
                engine.warmup()
        except TemperaError as exc:
            self.engine_failed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - reported to the user, app keeps running
            self.engine_failed.emit(f"cannot load engine {name}: {_one_line(exc)}")
            return
        self.engine = engine
        self._announce(notice, engine.startup_notice)

    def _announce(self, *notes: str | None) -> None:
        """Say which engine is loaded and on which device it runs now."""
        from app.inference.device import available_devices  # loaded with the engine, off the GUI thread

        engine = self.engine
        said = [n for n in notes if n]
        self.engine_loaded.emit(EngineInfo(engine.name, str(engine.device), " · ".join(said) or None,
                                           bool(engine.guided), bool(engine.randomized), available_devices()))

    @Slot(object)
    def run(self, request: Request) -> None:
        if self.engine is None:
            self.failed.emit(request.id, "no inference engine is loaded")
            return
        start = time.perf_counter()
        device = str(self.engine.device)
        try:
            result = self._call(request)
        except _Abandoned:  # stopped between parts: nobody waits for it (no CPU retry either)
            self.failed.emit(request.id, "cancelled")
            return
        except TemperaError as exc:  # said for the user (a patch search that failed, say): not the GPU's trouble
            self.failed.emit(request.id, _one_line(exc))
            return
        except Exception as exc:  # noqa: BLE001
            if not _is_gpu(str(self.engine.device)):
                self.failed.emit(request.id, _one_line(exc))
                return
            # GPU trouble mid-session (out of memory, driver): retry on the CPU, say so.
            self.progress.emit(f"{self.engine.device} failed ({_one_line(exc)}); retrying on the CPU")
            self.load(self._wanted_engine[0], "cpu")
            if self.engine is None or _is_gpu(str(self.engine.device)):
                self.failed.emit(request.id, _one_line(exc))
                return
            device = str(self.engine.device)  # the reload said so already
            try:
                result = self._call(request)
            except Exception as exc2:  # noqa: BLE001
                self.failed.emit(request.id, _one_line(exc2))
                return
        if str(self.engine.device) != device:
            # the engine moved itself to the CPU during the fill (a GPU out of memory):
            # the status bar must not go on naming the GPU
            self._announce(getattr(result, "notice", None))
        if request.kind == "fill" and not request.candidate:  # a candidate's would repeat the fill's
            self.notice.emit(result.notice)
        seconds = time.perf_counter() - start
        if request.kind == "fill" and log.isEnabledFor(logging.INFO):  # main.py -v: each fill the user asked for
            variation = request.extra.get("variation")
            log.info("%s of %s hole px in a %d x %d photo: %s (as %s) on %s, seed %d, %.2f s%s",
                     "fill" if variation is None else f"variation {variation + 1}",
                     f"{int(request.snapshot.mask.sum()):,}", request.snapshot.image.shape[1],
                     request.snapshot.image.shape[0], result.engine, self.engine.name, result.device,
                     result.seed, seconds, f"; {result.notice}" if result.notice else "")
        self.finished.emit(request.id, result, seconds)

    def _call(self, request: Request) -> object:
        snap = request.snapshot
        sketch = snap.sketch if snap.sketch.any() else None
        protect = snap.protect if snap.protect.any() else None
        if request.kind == "fill":
            label = engine_label(self.engine.name)
            candidate = request.candidate  # the variation controller speaks for those
            if not candidate:
                self.progress.emit(f"Filling with {label}…")

            def regions(done: int, total: int) -> None:  # the network, then each hole region
                wanted = self.wanted_request
                if wanted is not None and wanted != request.id:  # abandoned (Esc) or superseded: stop here
                    raise _Abandoned
                if total > 1 and not candidate:
                    self.progress.emit(f"Filling with {label}… {done} of {total} parts done")

            # what the engine sees may differ from the photo (hidden colours of transparent
            # pixels: imageio.fill_input); the result is composited onto snap.image
            image = request.extra.get("engine_image", snap.image)
            return self.engine.fill(image, snap.mask, sketch, protect=protect,
                                    seed=int(request.extra.get("seed", 0)), progress=regions,
                                    drawn=request.extra.get("hole"))
        self.progress.emit("Computing attention…")
        return self.engine.explain(snap.image, snap.mask, sketch, request.point, protect)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


class InferenceController(QObject):
    """GUI-side front of the worker: ids, supersession, stale-result dropping, shutdown."""

    busy_changed = Signal(bool)
    status = Signal(str)
    engine_changed = Signal(object)  # EngineInfo
    engine_error = Signal(str)
    fill_done = Signal(object, object, float)  # Request, FillResult, seconds
    explain_done = Signal(object, object)  # Request, dict | None
    failed = Signal(object, str)  # Request, message
    notice = Signal(object)  # str | None
    started = Signal()  # a request began to run (the one before it, if any, has ended)

    _load = Signal(str, str)
    _run = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("tempera-inference")
        self.worker = InferenceWorker()
        self.worker.moveToThread(self.thread)
        self._load.connect(self.worker.load)
        self._run.connect(self.worker.run)
        self.worker.engine_loaded.connect(self._on_loaded)
        self.worker.engine_failed.connect(self._on_load_failed)
        self.worker.progress.connect(self._on_progress)
        self.worker.notice.connect(self.notice)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.thread.finished.connect(self.worker.deleteLater)
        self.thread.start()
        self.engine: EngineInfo | None = None
        self.loading = False
        self._next_id = 0
        self._running: Request | None = None
        self._pending: Request | None = None
        self._latest = -1  # id of the newest request; anything older is stale
        self._stopped = False

    def _on_progress(self, text: str) -> None:
        """The worker's progress, except a cancelled or superseded fill's: "Cancelled" must
        not give way to "2 of 2 parts done" of a result that will be dropped."""
        if self._running is not None and self._running.id != self._latest:
            return
        self.status.emit(text)

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    @property
    def busy(self) -> bool:
        """Something the user is waiting for (an abandoned forward pass does not count)."""
        running = self._running is not None and self._running.id == self._latest
        return running or self._pending is not None or self.loading

    @property
    def stopping(self) -> bool:
        """A cancelled or superseded request is still running (a forward pass or a small
        hole's patch search cannot be cut): the worker is not free yet."""
        return self._running is not None and self._running.id != self._latest

    @property
    def filling(self) -> bool:
        """A fill the user asked for (not a variation, not an attention map) is on its way:
        the photo is about to change."""
        return bool(self.fills())

    def fills(self) -> list[Request]:
        """The fills the user asked for that are on their way (running or pending)."""
        return [r for r in self._live() if r.kind == "fill" and not r.candidate]

    @property
    def varying(self) -> bool:
        """Only background variations of a fill already in the photo are on their way."""
        live = self._live()
        return bool(live) and all(r.candidate for r in live)

    def _live(self) -> list[Request]:
        """The running request unless cancelled or superseded, and the pending one."""
        return [r for r in (self._running, self._pending)
                if r is not None and (r is self._pending or r.id == self._latest)]

    def load_engine(self, name: str, device: str) -> None:
        self.loading = True
        self.busy_changed.emit(True)
        self._load.emit(name, device)

    def _want(self, request_id: int) -> None:
        self._latest = request_id
        self.worker.wanted_request = request_id  # a running fill that is not it stops between parts

    def submit(self, request: Request) -> None:
        stale = self._running is not None and self._running.id != self._latest  # cancelled, still running
        self._want(request.id)
        if self._running is None:
            self._dispatch(request)
        else:
            self._pending = request  # replaces an older pending request
            if stale:  # a fill cannot be cut short: say why this one has not started
                self.status.emit("Waiting for the cancelled fill to stop before this one starts…")
        self.busy_changed.emit(True)

    def cancel(self) -> bool:
        """Abandon the running and pending requests; True when there was one."""
        had = self._running is not None or self._pending is not None
        self._pending = None
        self._want(-1)  # whatever is running now is stale
        self.busy_changed.emit(self.busy)
        return had

    def shutdown(self, timeout_ms: int = 120_000) -> bool:
        """Stop the thread; a running forward pass finishes first (it cannot be cut)."""
        if self._stopped:
            return True
        self._stopped = True
        self._pending = None
        self._want(-1)
        self.thread.quit()
        return self.thread.wait(timeout_ms)

    def _dispatch(self, request: Request) -> None:
        self._running = request
        self._run.emit(request)
        self.started.emit()

    def _advance(self) -> None:
        ended_stale = self.stopping
        ended = self._running
        self._running = None
        if self._pending is not None and not self._stopped:
            nxt, self._pending = self._pending, None
            self._dispatch(nxt)
        elif ended_stale and not self._stopped:
            candidate = ended is not None and ended.candidate
            self.status.emit("The cancelled variation has stopped; the fill is kept" if candidate
                             else FILL_STOPPED)
        self.busy_changed.emit(self.busy)

    def _on_loaded(self, info: EngineInfo) -> None:
        self.loading = False
        self.engine = info
        self.engine_changed.emit(info)
        self.busy_changed.emit(self.busy)

    def _on_load_failed(self, message: str) -> None:
        self.loading = False
        self.busy_changed.emit(self.busy)  # first: the error dialog waits for the user
        self.engine_error.emit(message)

    def _on_finished(self, request_id: int, result: object, seconds: float) -> None:
        request = self._running
        self._advance()
        if request is None or request.id != request_id or request_id != self._latest:
            return  # superseded or cancelled: drop
        if request.kind == "fill":
            if not isinstance(result, FillResult) or result.image.shape != request.snapshot.image.shape:
                self.failed.emit(request, "the engine returned an image of the wrong size")
                return
            self.fill_done.emit(request, result, seconds)
        else:
            self.explain_done.emit(request, result)

    def _on_failed(self, request_id: int, message: str) -> None:
        request = self._running
        self._advance()
        if request is not None and request.id == request_id == self._latest:
            self.failed.emit(request, message)
