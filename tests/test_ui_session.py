"""Fills through the worker thread, saving, prompts, autosave, errors, quitting (offscreen)."""

from __future__ import annotations

import dataclasses
import os
import re
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QMessageBox

from app.core import brush
from app.core.autosave import AutosaveStore
from app.core.document import Document, Snapshot
from app.core.feather import DEFAULT_FEATHER_PX, feather_hole
from app.core.fill_result import FillResult
from app.core.imageio import load_image
from app.core.names import engine_label
from app.core.settings import load_settings
from app.ui import dialogs, main_window
from app.ui.app import offer_restore, restored_instead
from app.ui.docks import ATTENTION_HINT
from app.ui.main_window import MainWindow
from app.ui.worker import Request

REAL_ASK_DISCARD_MASK = dialogs.ask_discard_mask  # conftest answers it for every other test
REAL_ASK_UNSAVED = dialogs.ask_unsaved

Button = QMessageBox.StandardButton


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TEMPERA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TEMPERA_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path


def make_window(qtbot, engine: str = "telea") -> MainWindow:
    settings = load_settings()
    settings.engine, settings.device = engine, "cpu"
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.inference.engine is not None, timeout=60_000)
    return w


@pytest.fixture
def window(qtbot, env: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setattr(dialogs, "ask_unsaved", lambda *a: "discard")
    return make_window(qtbot)


def fill_and_wait(w: MainWindow, qtbot) -> None:
    """Fill (Ctrl+Return) and wait for the result to be applied."""
    with qtbot.waitSignal(w.inference.fill_done, timeout=60_000):
        w.actions_.fill.trigger()


def paint_hole(w: MainWindow, box=(20, 10, 30, 20)) -> None:
    patch = brush.rectangle(box[:2], box[2:], w.doc.size_wh)
    w.tools.set_tool("rect")
    w.tools.press(box[:2])
    w.tools.release(box[2:])
    assert w.doc.mask.sum() == patch.area.sum()


def open_with_hole(w: MainWindow, path: Path) -> tuple[Document, np.ndarray, np.ndarray]:
    """Open ``path`` and paint the usual hole: the document, its image before any fill, the hole."""
    assert w.files.open_path(path)
    before = w.doc.image.copy()
    paint_hole(w)
    return w.doc, before, w.doc.mask.copy()


class SlowEngine:
    """Stands in for a slow network: records calls, takes ``delay`` seconds per fill."""

    name, device, guided, startup_notice, randomized = "slow", "CPU", False, None, False

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls: list[int] = []

    used = "slow"  # the engine a fill result names (auto names its choice)

    def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None):
        self.calls.append(int(mask.sum()))
        time.sleep(self.delay)
        out = rgb.copy()
        out[mask] = 7
        return FillResult(out, self.used, seed=seed)


class MovesToCpu(SlowEngine):
    """A network on a GPU that runs out of memory in the fill and finishes on the CPU."""

    device = "cuda"

    def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None):
        self.device = "cpu"
        out = super().fill(rgb, mask, sketch, protect=protect, seed=seed, progress=progress)
        return FillResult(out.image, out.engine, "CPU", "CUDA ran out of memory; continuing on the CPU", seed)


def test_status_bar_follows_a_fill_that_moved_to_the_cpu(window: MainWindow, photo_path: Path, qtbot) -> None:
    assert window.files.open_path(photo_path)
    window.inference.worker.engine = MovesToCpu(0.0)
    window.status.set_engine("slow", "cuda")
    assert window.status.device.text() == "Device: CUDA"
    paint_hole(window)
    fill_and_wait(window, qtbot)
    qtbot.waitUntil(lambda: window.status.device.text() == "Device: CPU", timeout=5000)
    assert "ran out of memory" in window.panel.notice.text()


class IgnoresStrokes(SlowEngine):
    """An engine whose result says, in the command line's names, that it ignored strokes."""

    def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None):
        out = super().fill(rgb, mask, sketch, protect=protect, seed=seed, progress=progress)
        said = "mtsa does not follow sketch strokes: they were ignored (auto, mtsa-texture and mtsa-guided follow them)"
        return FillResult(out.image, "mtsa", "CPU", said, seed)


def test_a_fill_s_notice_names_engines_as_the_engine_list_does(window: MainWindow, photo_path: Path, qtbot) -> None:
    assert window.files.open_path(photo_path)
    window.inference.worker.engine = IgnoresStrokes(0.0)
    paint_hole(window)
    fill_and_wait(window, qtbot)
    qtbot.waitUntil(lambda: bool(window.panel.notice.text()), timeout=5000)
    assert window.panel.notice.text() == ("Network does not follow sketch strokes: they were ignored "
                                          "(Auto, Network + texture and Network + sketch follow them)")


def test_a_hole_over_most_of_the_photo_asks_before_filling(window: MainWindow, photo_path: Path, qtbot,
                                                          monkeypatch) -> None:
    assert window.files.open_path(photo_path)
    asked: list[str] = []
    answer = [False]
    monkeypatch.setattr(dialogs, "ask_fill_most", lambda parent, note: asked.append(note) or answer[0])
    paint_hole(window, (20, 10, 30, 20))  # a small hole: no question
    fill_and_wait(window, qtbot)
    assert asked == []
    paint_hole(window, (20, 10, 30, 20))
    window.actions_.invert_mask.trigger()  # everything but the small box: a mask inverted by mistake
    assert 0.9 < window.doc.mask.mean() < 1.0
    planned: list[bool] = []
    plan = main_window.plan_fill
    monkeypatch.setattr(main_window, "plan_fill", lambda *a, **k: planned.append(True) or plan(*a, **k))
    window.actions_.fill.trigger()
    assert len(asked) == 1 and not window.inference.busy  # cancelled
    assert asked[0].endswith("of the photo (is it inverted?)")  # no "white marks": the editor's mask is coloured
    assert planned == []  # asked first: a Cancel does not wait for the plan of a large photo
    answer[0] = True
    fill_and_wait(window, qtbot)  # asked again, and filled this time
    assert len(asked) == 2

def test_fill_runs_in_worker_and_is_undoable(window: MainWindow, photo_path: Path, qtbot) -> None:
    doc, before, hole = open_with_hole(window, photo_path)
    fill_and_wait(window, qtbot)
    assert not np.array_equal(doc.image[hole], before[hole])
    # composited: outside the hole and its feathered edge, untouched
    near = feather_hole(hole, window.panel.feather_px())
    assert window.panel.feather_px() == DEFAULT_FEATHER_PX and near.sum() > hole.sum()
    assert np.array_equal(doc.image[~near], before[~near])
    assert not doc.mask.any()
    # the engine that filled stays in view after the status line moves on to the variations
    assert re.fullmatch(r"Last fill: .+, \d+\.\d\d s", window.status.last_fill.text())
    assert engine_label(window.inference.engine.name) in window.status.last_fill.text()
    assert window.status.device.text() == "Device: CPU"
    window.actions_.undo.trigger()
    assert np.array_equal(doc.image, before) and np.array_equal(doc.mask, hole)
    window.actions_.redo.trigger()
    window.actions_.restore_mask.trigger()
    assert np.array_equal(doc.mask, hole)
    # another photo: the time of a fill of this one no longer describes anything
    window.set_document(Document(before.copy()))
    assert window.status.last_fill.text() == "Last fill: –"


def test_fill_leaves_protected_pixels_beside_the_hole_unchanged(window: MainWindow, photo_path: Path, qtbot) -> None:
    """The feather ring stops at the protect mask: protected pixels keep their colour."""
    doc, before, hole = open_with_hole(window, photo_path)
    ring = feather_hole(hole, window.panel.feather_px()) & ~hole
    protect = np.zeros_like(hole)
    ys, xs = np.nonzero(ring)
    protect[ys[: len(ys) // 2], xs[: len(xs) // 2]] = True  # half of the ring
    doc.protect[:] = protect
    window.inference.worker.engine = SlowEngine(0.0)
    fill_and_wait(window, qtbot)
    assert np.array_equal(doc.image[protect], before[protect])
    assert (doc.image[hole] == 7).all()
    rest = ring & ~protect
    assert not np.array_equal(doc.image[rest], before[rest])  # the rest of the ring blends


def test_a_fill_of_a_transparent_area_is_opaque_shown_saved_and_undone(window: MainWindow, tmp_path: Path,
                                                                         qtbot) -> None:
    from PIL import Image

    rgba = np.full((40, 60, 4), 180, np.uint8)
    rgba[8:22, 18:32, 3] = 0  # a transparent box, which the hole covers
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cut.png")
    assert window.files.open_path(tmp_path / "cut.png")
    doc = window.doc
    assert (doc.alpha()[8:22, 18:32] == 0).all()
    paint_hole(window)  # (20, 10)-(30, 20)
    hole = doc.mask.copy()
    window.inference.worker.engine = SlowEngine(0.0)
    fill_and_wait(window, qtbot)
    assert (doc.alpha()[hole] == 255).all() and (doc.alpha()[8:10, 18:20] == 0).all()
    shown = window.canvas._pixels("image")
    assert (shown[hole] == 7).all()  # the fill itself, not the checkerboard through it
    window.files._write(tmp_path / "out.png", "keep")
    saved = np.asarray(Image.open(tmp_path / "out.png"))
    assert (saved[..., 3][hole] == 255).all() and (saved[8:10, 18:20, 3] == 0).all()
    window.actions_.undo.trigger()
    assert (doc.alpha()[hole] == 0).all()
    assert not (window.canvas._pixels("image")[hole] == 7).all()


def test_a_fill_next_to_transparency_sees_no_hidden_colour_and_copies_none(window: MainWindow, tmp_path: Path,
                                                                           qtbot) -> None:
    from PIL import Image

    rng = np.random.default_rng(2)
    rgba = np.dstack([rng.integers(120, 220, (40, 60, 3), dtype=np.uint8), np.full((40, 60), 255, np.uint8)])
    rgba[:, :24] = 0  # transparent, hidden colour black; the hole (20,10)-(30,20) reaches into it
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cut.png")
    assert window.files.open_path(tmp_path / "cut.png")
    doc = window.doc
    before = doc.image.copy()
    seen = []

    class Looking(SlowEngine):
        def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None):
            seen.append((rgb.copy(), None if protect is None else protect.copy()))
            return super().fill(rgb, mask, sketch, protect=protect, seed=seed, progress=progress)

    window.inference.worker.engine = Looking(0.0)
    paint_hole(window)
    hole = doc.mask.copy()
    fill_and_wait(window, qtbot)
    rgb, protect = seen[0]
    hidden = (rgba[..., 3] == 0) & ~hole
    assert rgb[hidden].max(axis=1).min() > 60  # no black shown to the engine
    assert protect is not None and protect[hidden].all()  # nor offered as a source
    assert np.array_equal(doc.image[hidden], before[hidden])  # the hidden colours stay in the photo
    far = ~feather_hole(hole, window.panel.feather_px())
    assert np.array_equal(doc.image[far], before[far])
    assert (doc.alpha()[hole] == 255).all()


def test_opening_a_16_bit_photo_says_it_is_edited_with_8(window: MainWindow, tmp_path: Path,
                                                          monkeypatch) -> None:
    from PIL import Image

    Image.fromarray(np.arange(40 * 60, dtype=np.uint16).reshape(40, 60) * 20).save(tmp_path / "deep.png")
    assert window.files.open_path(tmp_path / "deep.png")
    assert window.statusBar().currentMessage() == "deep.png has 16 bits per channel; the result is written with 8"
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: tmp_path / "out.png")
    paint_hole(window)
    assert window.files.save_as()  # said again when it happens, the opening's note long gone
    assert window.statusBar().currentMessage() == (f"Saved {tmp_path / 'out.png'} with 8 bits per channel "
                                                   "(the photo has 16)")
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(tmp_path / "flat.png")
    assert window.files.open_path(tmp_path / "flat.png")
    assert "bits per channel" not in window.statusBar().currentMessage()  # said of the last photo only


def test_newer_request_supersedes_pending_and_cancel_drops(window: MainWindow, photo_path: Path, qtbot) -> None:
    window.files.open_path(photo_path)
    engine = SlowEngine(0.3)
    window.inference.worker.engine = engine
    ctrl = window.inference
    results: list[int] = []
    ctrl.fill_done.connect(lambda req, res, s: results.append(req.id))
    doc = window.doc
    ids = []
    for size in (2, 3, 4):  # first runs, second is replaced by the third while pending
        doc.mask[:] = False
        doc.mask[:size, :size] = True
        req = Request("fill", doc.snapshot(ctrl.new_id()), extra={"doc": id(doc), "image_version": doc.image_version})
        ids.append(req.id)
        ctrl.submit(req)
    qtbot.waitUntil(lambda: not ctrl.busy, timeout=10_000)
    assert engine.calls == [4, 16]  # the 3x3 request never ran
    assert results == [ids[2]]  # the first (stale) result was dropped
    ctrl.submit(Request("fill", doc.snapshot(ctrl.new_id()), extra={"doc": id(doc)}))
    assert ctrl.busy and ctrl.cancel() and not ctrl.busy
    # the cancelled fill still runs to its end (a forward pass cannot be interrupted), but
    # its result is dropped: the next request is the next result the window hears of
    doc.mask[:] = False
    doc.mask[:5, :5] = True
    after = Request("fill", doc.snapshot(ctrl.new_id()), extra={"doc": id(doc), "image_version": doc.image_version})
    said: list[str] = []
    ctrl.status.connect(said.append)
    with qtbot.waitSignal(ctrl.fill_done, timeout=10_000):
        ctrl.submit(after)
    assert said and said[0].startswith("Waiting for the cancelled fill to stop")  # why it has not started
    assert len(engine.calls) == 4 and engine.calls[-1] == 25  # the cancelled one ran, unheard
    assert results == [ids[2], after.id]


class PartsEngine(SlowEngine):
    """A fill in parts (a network, then hole regions), each taking ``delay`` seconds."""

    def __init__(self, delay: float, parts: int = 4) -> None:
        super().__init__(delay)
        self.parts, self.done = parts, 0

    def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None):
        for n in range(1, self.parts + 1):
            time.sleep(self.delay)
            self.done = n
            if progress is not None:
                progress(n, self.parts)
        out = rgb.copy()
        out[mask] = 7
        return FillResult(out, "slow", seed=seed)


def test_a_cancelled_fill_stops_between_its_parts(window: MainWindow, photo_path: Path, qtbot) -> None:
    window.files.open_path(photo_path)
    engine = PartsEngine(0.3)
    window.inference.worker.engine = engine
    ctrl = window.inference
    paint_hole(window)
    window.fill()
    qtbot.waitUntil(lambda: engine.done >= 1, timeout=10_000)
    assert ctrl.cancel()
    qtbot.waitUntil(lambda: ctrl._running is None, timeout=10_000)
    assert engine.done < engine.parts  # it stopped at a boundary instead of running to its end
    engine.done = 0
    fill_and_wait(window, qtbot)  # the next fill runs whole
    assert engine.done == engine.parts and (window.doc.image == 7).any()


def test_quit_with_fill_in_flight_exits_cleanly(window: MainWindow, photo_path: Path, qtbot) -> None:
    window.files.open_path(photo_path)
    engine = SlowEngine(0.8)
    window.inference.worker.engine = engine
    paint_hole(window)
    window.fill()
    qtbot.waitUntil(lambda: bool(engine.calls), timeout=5_000)
    assert window.inference.busy
    window.close()  # unsaved prompt answers "discard" (fixture)
    assert window.inference.thread.isFinished()
    assert not window.isVisible()


def test_save_waits_for_a_running_fill(window: MainWindow, photo_path: Path, qtbot, monkeypatch) -> None:
    """Ctrl+S while a fill runs would write the photo without it under the new name."""
    window.files.open_path(photo_path)
    engine = SlowEngine(0.5)
    window.inference.worker.engine = engine
    paint_hole(window)
    out = photo_path.with_name("photo-inpainted.png")
    asked: list[Path] = []
    monkeypatch.setattr(dialogs, "ask_save_path", lambda parent, suggested, *a: asked.append(suggested) or out)
    window.fill()
    assert window.inference.filling
    assert not window.files.save() and not window.files.save_as()
    assert asked == [] and not out.exists()
    assert "still running" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not window.inference.busy, timeout=10_000)
    assert not window.inference.filling
    assert window.files.save() and out.is_file()
    assert (np.asarray(Image.open(out)) == 7).all(axis=-1).any()  # the fill is in the file


def test_open_paint_fill_save_round_trip(window: MainWindow, photo_path: Path, qtbot, monkeypatch) -> None:
    window.files.open_path(photo_path)
    paint_hole(window)
    with qtbot.waitSignal(window.inference.fill_done, timeout=60_000):
        window.fill()
    asked: list[Path] = []
    out = photo_path.with_name("photo-inpainted.jpg")
    monkeypatch.setattr(dialogs, "ask_save_path", lambda parent, suggested, *a: asked.append(suggested) or out)
    monkeypatch.setattr(dialogs, "ask_quality", lambda parent, path, q, keep=None, lossless=False: 90)
    assert window.files.is_modified()
    window.actions_.save.trigger()  # first Ctrl+S asks, suggesting <name>-inpainted.<ext>
    assert asked == [photo_path.with_name("photo-inpainted.jpg")]
    assert not window.files.is_modified() and "*" not in window.windowTitle()
    saved = load_image(out)
    assert saved.size == (48, 32)
    assert np.abs(saved.rgb.astype(int) - window.doc.image.astype(int)).mean() < 4
    assert saved.exif is not None and b"TemperaCam" in saved.exif  # metadata kept
    assert load_image(photo_path).rgb.tobytes() == window.doc.original.tobytes()  # original untouched
    paint_hole(window, (1, 1, 5, 5))
    window.actions_.save.trigger()  # later Ctrl+S reuses the chosen name without asking
    assert len(asked) == 1 and not window.files.is_modified()


def test_save_never_overwrites_the_original(window: MainWindow, photo_path: Path, monkeypatch) -> None:
    window.files.open_path(photo_path)
    paint_hole(window)
    errors: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: errors.append(text))
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: photo_path)
    monkeypatch.setattr(dialogs, "ask_quality", lambda parent, path, q, keep=None, lossless=False: q)
    before = photo_path.read_bytes()
    assert not window.files.save()
    assert photo_path.read_bytes() == before
    assert len(errors) == 1 and "\n" not in errors[0] and "photo.jpg" in errors[0]
    assert window.files.is_modified()


def test_a_fill_that_lands_while_quitting_asks_again(env: Path, photo_path: Path, qtbot, monkeypatch) -> None:
    w = make_window(qtbot)
    w.inference.worker.engine = SlowEngine(1.0)
    assert w.files.open_path(photo_path)
    paint_hole(w)
    w.actions_.fill.trigger()
    qtbot.waitUntil(lambda: w.inference.filling, timeout=5000)
    asked: list[tuple[str, bool]] = []

    def discard_mask(parent, name, filling=False):  # the user reads, the fill lands meanwhile
        asked.append(("mask", filling))
        qtbot.waitUntil(lambda: w.files.pixels_modified(), timeout=10_000)
        return True

    def unsaved(parent, name, filling=False):
        asked.append(("unsaved", filling))
        return "cancel"

    monkeypatch.setattr(dialogs, "ask_discard_mask", discard_mask)
    monkeypatch.setattr(dialogs, "ask_unsaved", unsaved)
    w.close()
    # the answer "discard the mask" was to a question the landed fill made stale: asked again
    assert asked == [("mask", True), ("unsaved", False)]
    assert w.isVisible() and w.files.pixels_modified()  # cancelled: the fill is kept
    monkeypatch.setattr(dialogs, "ask_unsaved", lambda *a: "discard")
    w.close()
    assert not w.isVisible()


def test_the_quit_questions_name_a_running_fill(qtbot, monkeypatch) -> None:
    texts: list[str] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: texts.append(box.text()) or Button.Cancel)
    assert not REAL_ASK_DISCARD_MASK(None, "a.jpg", True)
    assert REAL_ASK_UNSAVED(None, "a.jpg", True) == "cancel"
    assert REAL_ASK_DISCARD_MASK(None, "a.jpg") is False and REAL_ASK_UNSAVED(None, "a.jpg") == "cancel"
    running, unsaved_running, plain, unsaved = texts
    assert "A fill of a.jpg is still running" in running and "Cancel and let it finish" in running
    assert "unsaved changes" in unsaved_running and "still running" in unsaved_running
    assert "still running" not in plain + unsaved and "not filled yet" in plain


def test_the_save_and_discard_buttons_answer_to_alt_keys(monkeypatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: seen.append(sorted(b.text() for b in box.buttons()))
                        or Button.Discard)
    assert REAL_ASK_UNSAVED(None, "a.jpg") == "discard"
    assert REAL_ASK_DISCARD_MASK(None, "a.jpg") is True
    assert seen == [["&Discard", "&Save", "Cancel"], ["&Discard", "Cancel"]]


def test_unsaved_changes_prompt(env: Path, photo_path: Path, qtbot, monkeypatch) -> None:
    w = make_window(qtbot)
    w.files.open_path(photo_path)
    answers = {"warning": Button.Cancel, "mask": Button.Cancel}
    asked: list[str] = []

    def question(box):  # dialogs.ask_unsaved (Save / Discard / Cancel) or ask_discard_mask (Discard / Cancel)
        asked.append(box.text())
        return answers["warning" if box.windowTitle() == "Unsaved changes" else "mask"]

    monkeypatch.setattr(QMessageBox, "exec", question)
    monkeypatch.setattr(dialogs, "ask_discard_mask", REAL_ASK_DISCARD_MASK)
    w.close()
    assert not asked and not w.isVisible()  # nothing changed: no question
    w.show()
    paint_hole(w)
    w.close()
    # a mask alone: Save would not keep it, so the question is whether to drop it
    assert len(asked) == 1 and "not filled yet" in asked[0] and "Save" not in asked[0]
    assert w.isVisible() and w.doc.mask.any()  # cancelled: still open, work kept
    other = photo_path.with_name("other.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(other)
    assert not w.files.open_path(other) and w.doc.path == photo_path
    answers["mask"] = Button.Discard
    assert w.files.open_path(other) and w.doc.path == other
    assert len(asked) == 3  # closing, then opening other.png twice (cancelled, then discarded)
    w.close()  # nothing painted on other.png: no question
    assert len(asked) == 3 and not w.isVisible()
    w = make_window(qtbot)  # the first one's worker stopped when it closed
    w.files.open_path(photo_path)
    w.inference.worker.engine = SlowEngine(0.0)
    paint_hole(w)
    fill_and_wait(w, qtbot)  # now the pixels changed: Save / Discard / Cancel
    w.close()
    assert len(asked) == 4 and "unsaved changes" in asked[-1] and w.isVisible()
    answers["warning"] = Button.Discard
    w.close()
    assert not w.isVisible()


def test_autosave_then_restore_after_a_crash(env: Path, photo_path: Path, qtbot, monkeypatch) -> None:
    w = make_window(qtbot)
    w.files.open_path(photo_path)
    paint_hole(w)
    w.autosave.flush()
    state = AutosaveStore().read()
    assert state is not None and np.array_equal(state.mask, w.doc.mask)
    assert state.image is None  # not filled: the file on disk is enough
    mask = w.doc.mask.copy()
    w.undo_stack.blockSignals(True)  # "crash": no close, autosave left behind
    w.inference.shutdown()
    w.autosave.shutdown()
    w.hide()

    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a: asked.append(text) or Button.Yes)
    monkeypatch.setattr(dialogs, "ask_unsaved", lambda *a: "discard")
    w2 = make_window(qtbot)
    assert offer_restore(w2, Path("/elsewhere/other.jpg"))  # started with another photo named
    assert asked[0].endswith("? Yes opens it instead of other.jpg; No discards it and opens other.jpg.")
    assert w2.doc.path == photo_path and np.array_equal(w2.doc.mask, mask)
    assert w2.files.is_modified()
    assert w2.files.last_dir == photo_path.absolute().parent  # Ctrl+O starts in its folder
    # the editor was started with another photo named: the line says it was not opened
    assert restored_instead(w2.doc, photo_path) == f"Restored the unsaved work on {photo_path.name}"
    assert restored_instead(w2.doc, Path("/elsewhere/other.jpg")) == (
        f"Restored the unsaved work on {photo_path.name}; other.jpg was not opened: open it (Ctrl+O) once "
        "this work is saved")
    long = Path("/elsewhere/" + "a-very-long-name-of-a-photo-from-a-camera-export-" * 2 + "001.jpg")
    said = restored_instead(w2.doc, long)
    assert said.endswith("…mera-export-001.jpg was not opened: open it (Ctrl+O) once this work is saved")
    assert len(said) < 150  # the line's advice is not cut off at the window's edge
    w2.close()  # discarded on purpose: nothing left to recover
    assert AutosaveStore().read() is None


def test_restore_after_a_crash_keeps_a_filled_transparent_hole_opaque(env: Path, tmp_path: Path, qtbot,
                                                                        monkeypatch) -> None:
    from PIL import Image

    rgba = np.full((40, 60, 4), 180, np.uint8)
    rgba[8:22, 18:32, 3] = 0
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cut.png")
    monkeypatch.setattr(dialogs, "ask_unsaved", lambda *a: "discard")
    w = make_window(qtbot)
    w.files.open_path(tmp_path / "cut.png")
    paint_hole(w)
    hole = w.doc.mask.copy()
    w.inference.worker.engine = SlowEngine(0.0)
    fill_and_wait(w, qtbot)
    w.autosave.flush()
    w.undo_stack.blockSignals(True)  # "crash"
    w.inference.shutdown()
    w.autosave.shutdown()
    w.hide()
    monkeypatch.setattr(QMessageBox, "question", lambda *a: Button.Yes)
    w2 = make_window(qtbot)
    assert offer_restore(w2)
    assert (w2.doc.image[hole] == 7).all() and (w2.doc.alpha()[hole] == 255).all()
    assert (w2.doc.alpha()[8:10, 18:20] == 0).all()
    w2.close()


def test_restore_after_a_crash_keeps_the_name_saved_as(env: Path, photo_path: Path, qtbot, monkeypatch) -> None:
    monkeypatch.setattr(dialogs, "ask_unsaved", lambda *a: "discard")
    w = make_window(qtbot)
    w.files.open_path(photo_path)
    out = photo_path.with_name("renamed.png")
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: out)
    assert w.files.save_as()
    paint_hole(w)  # edits after the save, then a crash
    w.autosave.flush()
    w.undo_stack.blockSignals(True)
    w.inference.shutdown()
    w.autosave.shutdown()
    w.hide()
    questions: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a: questions.append(text) or Button.Yes)
    w2 = make_window(qtbot)
    assert offer_restore(w2)
    assert "renamed.png" in questions[0]
    assert w2.doc.path == photo_path and w2.doc.save_path == out  # Ctrl+S goes where it went before
    assert w2.windowTitle().startswith("*renamed.png")
    w2.close()


def test_bad_file_shows_one_line_error_and_keeps_document(window: MainWindow, photo_path: Path,
                                                          monkeypatch) -> None:
    window.files.open_path(photo_path)
    paint_hole(window)
    bad = photo_path.with_name("broken.jpg")
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    errors: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: errors.append(text))
    monkeypatch.setattr(dialogs, "ask_unsaved", lambda *a: "discard")
    assert not window.files.open_path(bad)
    assert len(errors) == 1 and "broken.jpg" in errors[0] and "\n" not in errors[0]
    assert window.doc.path == photo_path and window.doc.mask.any()
    wrong = photo_path.with_name("small-mask.png")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(wrong)
    monkeypatch.setattr(dialogs, "ask_open_path", lambda *a: wrong)
    window.files.import_layer("mask")
    assert len(errors) == 2 and "48" in errors[1] and window.doc.mask.any()


def test_paste_image_and_mask_export_import(window: MainWindow, tmp_path: Path, monkeypatch) -> None:
    img = QImage(40, 30, QImage.Format.Format_RGB888)
    img.fill(0x336699)
    QGuiApplication.clipboard().setImage(img)
    window.actions_.paste.trigger()
    doc = window.doc
    assert doc.path is None and doc.size_wh == (40, 30)
    assert tuple(doc.image[5, 5]) == (0x33, 0x66, 0x99)
    paint_hole(window, (2, 2, 12, 9))
    mask = doc.mask.copy()
    out = tmp_path / "m.png"
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: out)
    window.files.export_layer("mask")
    window.actions_.clear_mask.trigger()
    assert not doc.mask.any()
    monkeypatch.setattr(dialogs, "ask_open_path", lambda *a: out)
    window.actions_.show_mask.setChecked(False)
    window.files.import_layer("mask")
    assert np.array_equal(doc.mask, mask)
    said = window.statusBar().currentMessage()
    assert f"Imported the mask from m.png: {int(mask.sum())} px" in said and "Show mask is off" in said
    window.actions_.undo.trigger()
    assert not doc.mask.any()


def test_protect_export_import_through_the_file_menu(window: MainWindow, photo_path: Path, tmp_path: Path,
                                                     monkeypatch) -> None:
    window.files.open_path(photo_path)
    doc = window.doc
    protect = np.zeros_like(doc.protect)
    protect[4:12, 30:44] = True
    doc.protect[:] = protect
    out = tmp_path / "keep.png"
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: out)
    window.actions_.export_protect.trigger()
    assert np.array_equal(np.asarray(Image.open(out)) > 127, protect)
    window.actions_.clear_protect.trigger()
    assert not doc.protect.any()
    monkeypatch.setattr(dialogs, "ask_open_path", lambda *a: out)
    window.actions_.show_protect.setChecked(False)
    window.actions_.import_protect.trigger()
    assert np.array_equal(doc.protect, protect)
    said = window.statusBar().currentMessage()
    assert "Imported the protect from keep.png" in said and "Show protect is off" in said
    window.actions_.undo.trigger()
    assert not doc.protect.any()


def test_attention_viewer_needs_an_mtsa_engine(window: MainWindow, photo_path: Path, qtbot) -> None:
    window.files.open_path(photo_path)
    paint_hole(window)
    with qtbot.waitSignal(window.inference.fill_done, timeout=60_000):
        window.fill()
    assert window.canvas.fill_outline is None  # drawn only while the viewer is on
    window.actions_.attention.setChecked(True)
    assert window.canvas.attention_mode
    outline = window.canvas.fill_outline  # where a click has something to explain
    hole = window.last_fill.snapshot.mask
    ys, xs = np.nonzero(hole)
    box = outline.boundingRect()
    assert (box.left(), box.top(), box.right(), box.bottom()) == (xs.min() + 0.5, ys.min() + 0.5,
                                                                  xs.max() + 0.5, ys.max() + 0.5)
    window.attention.explain_at(0, 0)
    assert "inside the dashed outline" in window.panel.attention_info.text()
    assert window.statusBar().currentMessage() == window.panel.attention_info.text()  # seen where one clicked
    with qtbot.waitSignal(window.inference.explain_done, timeout=60_000):
        window.attention.explain_at(25, 15)
    assert "needs a network engine" in window.panel.attention_info.text()
    assert window.canvas.heatmap is None and window.canvas.fill_outline is outline
    window.actions_.attention.setChecked(False)
    assert window.canvas.fill_outline is None
    window.files.open_path(photo_path)  # another photo: no fill of it yet
    window.actions_.attention.setChecked(True)
    assert window.canvas.fill_outline is None


def test_attention_heatmap_drawn_from_explain_maps(window: MainWindow, photo_path: Path, qtbot) -> None:
    window.files.open_path(photo_path)
    paint_hole(window)
    with qtbot.waitSignal(window.inference.fill_done, timeout=60_000):
        window.fill()
    window.actions_.attention.setChecked(True)
    att = np.zeros((32, 48), np.float32)
    att[5, 40] = 1.0
    temp = np.linspace(2, 30, 32 * 48, dtype=np.float32).reshape(32, 48)
    req = Request("explain", window.last_fill.snapshot, point=(25, 15))
    window.inference.explain_done.emit(req, {"attention": att, "temperature": temp})  # as the worker reports it
    heat = window.canvas.heatmap
    assert heat is not None and heat.size().width() == 48
    assert heat.pixelColor(40, 5).alpha() > heat.pixelColor(0, 0).alpha()
    window.actions_.temperature.setChecked(True)
    assert "2.00" in window.panel.attention_info.text() and "30.00" in window.panel.attention_info.text()
    window.actions_.attention.setChecked(False)
    assert window.canvas.heatmap is None
    assert window.panel.attention_info.text() == ATTENTION_HINT  # no stale caption once the view is off


def test_temperature_key_opens_the_attention_viewer(window: MainWindow, photo_path: Path, qtbot) -> None:
    from app.ui.attention import NEED_FILL, TEMPERATURE_HINT

    window.files.open_path(photo_path)
    window.actions_.temperature.setChecked(True)  # T before any fill
    assert window.actions_.attention.isChecked() and window.canvas.attention_mode
    assert window.panel.attention_info.text() == NEED_FILL
    window.actions_.temperature.setChecked(False)
    window.actions_.attention.setChecked(False)
    paint_hole(window)
    with qtbot.waitSignal(window.inference.fill_done, timeout=60_000):
        window.fill()
    window.actions_.temperature.setChecked(True)  # T alone, after a fill
    assert window.actions_.attention.isChecked()
    assert window.panel.attention_info.text() == TEMPERATURE_HINT
    temp = np.linspace(2, 30, 32 * 48, dtype=np.float32).reshape(32, 48)
    req = Request("explain", window.last_fill.snapshot, point=(25, 15))
    window.inference.explain_done.emit(req, {"attention": temp, "temperature": temp})
    assert "Learned temperature" in window.panel.attention_info.text()
    assert window.canvas.heatmap is not None
    window.actions_.attention.setChecked(False)  # A closes the viewer, and its temperature view
    assert not window.actions_.temperature.isChecked() and window.canvas.heatmap is None
    window.actions_.temperature.setChecked(True)  # so one T opens it again
    assert window.actions_.attention.isChecked()


def test_gpu_failure_falls_back_to_cpu_with_a_notice(window: MainWindow, qtbot, monkeypatch) -> None:
    import app.inference.engines as engines

    real = engines.load_engine

    def flaky(name: str, device: str = "auto", *a, **k):
        if device == "cuda":
            raise RuntimeError("CUDA error: no kernel image is available")
        return real(name, device, *a, **k)

    monkeypatch.setattr(engines, "load_engine", flaky)
    combo = window.panel.device_combo
    window.panel.set_devices(("auto", "cpu", "cuda"))  # as where torch sees a GPU
    with qtbot.waitSignal(window.inference.engine_changed, timeout=60_000) as blocker:
        combo.setCurrentText("cuda")
    info = blocker.args[0]
    assert info.device == "CPU" and "cuda failed" in info.notice and "CPU" in info.notice
    assert "cuda failed" in window.panel.notice.text()
    assert window.status.device.text() == "Device: CPU"
    assert combo.currentText() == "cuda"  # the choice stays, beside the notice that says why the CPU runs


def test_the_device_list_offers_what_can_run_here(window: MainWindow, qtbot) -> None:
    from app.inference.device import available_devices

    combo = window.panel.device_combo
    items = lambda: [combo.itemText(i) for i in range(combo.count())]  # noqa: E731
    qtbot.waitUntil(lambda: window.inference.engine is not None, timeout=60_000)
    assert items() == list(available_devices()) and items()[:2] == ["auto", "cpu"]
    window.panel.set_devices(("auto", "cpu", "mps"))
    combo.blockSignals(True)  # chosen where a GPU was (no engine load here)
    combo.setCurrentText("mps")
    combo.blockSignals(False)
    window.panel.set_devices(("auto", "cpu"))  # that setting stays listed, and chosen
    assert items() == ["auto", "cpu", "mps"] and combo.currentText() == "mps"


def test_dropped_file_opens(window: MainWindow, photo_path: Path) -> None:
    from PySide6.QtCore import QMimeData, QUrl

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_path))])
    assert window.files.open_mime(mime)
    assert window.doc.path == photo_path and window.doc.size_wh == (48, 32)
    assert str(photo_path.resolve()) in window.settings.recent_files
    assert [a.text() for a in window.recent_menu.actions()][0] == "&1 photo.jpg"


def test_autosave_is_written_after_a_stroke_and_cleared_by_save(window: MainWindow, photo_path: Path, qtbot,
                                                                  monkeypatch) -> None:
    window.files.open_path(photo_path)
    store = window.autosave.store
    assert store.read() is None
    paint_hole(window)  # the debounce timer (600 ms by default) starts on the undo step
    qtbot.waitUntil(lambda: store.read() is not None, timeout=5_000)
    assert np.array_equal(store.read().mask, window.doc.mask)
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: photo_path.with_name("out.png"))
    assert window.files.save()
    assert store.read() is None


def test_fill_message_names_the_engine_auto_chose(window: MainWindow, photo_path: Path, qtbot) -> None:
    window.files.open_path(photo_path)
    engine = SlowEngine(0.0)
    engine.used = "mtsa-guided"  # what AutoEngine's results name
    window.inference.worker.engine = engine
    window.inference.engine = dataclasses.replace(window.inference.engine, name="auto")
    paint_hole(window)
    with qtbot.waitSignal(window.inference.fill_done, timeout=60_000):
        window.fill()
    assert "Filled with Network + sketch (Auto's choice)" in window.statusBar().currentMessage()
    # the guided network hands a hole without strokes to the plain one, and says so
    window.inference.engine = dataclasses.replace(window.inference.engine, name="mtsa-guided")
    engine.used = "mtsa"
    paint_hole(window)
    with qtbot.waitSignal(window.inference.fill_done, timeout=60_000):
        window.fill()
    assert "Filled with Network (no strokes in the hole)" in window.statusBar().currentMessage()


@pytest.mark.slow  # the real app in a process of its own
@pytest.mark.shipped_weights
@pytest.mark.parametrize("mode,arg", [("fill", "0"), ("fill", "200"), ("stuck", "300"), ("batch", "out")])
def test_the_real_app_process_exits_cleanly(tmp_path: Path, mode: str, arg: str) -> None:
    """`python main.py PHOTO`, then Ctrl+Q with a network fill in flight, or after a batch
    export: the process waits for its threads and exits 0 without a word on stderr.
    (Under a real X server, a window left to Python's exit warned "shared QObject was
    deleted directly" after a batch export in 4 of 6 runs, one a segfault; run_gui now
    deletes it. The offscreen platform used here did not show that race.)"""
    import subprocess
    import sys

    photos = tmp_path / "photos"
    photos.mkdir()
    photo = photos / "big.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (900, 1200, 3), dtype=np.uint8)).save(photo)
    mask = np.zeros((900, 1200), np.uint8)
    mask[300:500, 400:700] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.json").write_text('{"engine": "mtsa", "device": "cpu"}')
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "TEMPERA_CONFIG_DIR": str(tmp_path / "config"), "TEMPERA_STATE_DIR": str(tmp_path / "state")}
    if mode == "batch":
        arg = str(tmp_path / arg)
    driver = Path(__file__).with_name("gui_quit_driver.py")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-X", "faulthandler", str(driver), str(photo), mode, arg], env=env,
                          capture_output=True, text=True, timeout=180)
    if mode == "stuck":  # the fill would take a minute more: closing did not wait for it
        assert time.monotonic() - started < 45
        assert (tmp_path / "config" / "settings.json").read_text() != '{"engine": "mtsa", "device": "cpu"}'
    complaints = [line for line in proc.stderr.splitlines() if "propagateSizeHints" not in line]
    assert proc.returncode == 0 and not complaints, proc.stderr[-2000:]
    assert not (tmp_path / "state" / "session.npz").exists()  # quit, not crashed: nothing to restore
    if mode == "batch":
        assert "1 filled" in proc.stdout and (Path(arg) / "big.png").exists(), proc.stdout


def test_a_second_editor_neither_offers_nor_clears_a_running_editor_s_work(
        env: Path, photo_path: Path, qtbot, monkeypatch) -> None:
    import subprocess
    import sys

    from app.core.autosave import state_dir
    from app.ui.autosave_ui import claim_slot

    monkeypatch.setattr(dialogs, "ask_unsaved", lambda *a: "discard")
    first = make_window(qtbot)
    first.files.open_path(photo_path)
    paint_hole(first)
    first.autosave.flush()
    asked: list[str] = []
    monkeypatch.setattr(dialogs, "ask_restore", lambda *a: asked.append("restore") or False)
    second = make_window(qtbot)  # started while the first runs
    assert not offer_restore(second) and not asked
    assert second.autosave.store.directory == state_dir() / "instance-1"
    assert AutosaveStore().read() is not None  # the first editor's work is still there
    second.files.open_path(photo_path)
    paint_hole(second, (1, 1, 3, 3))
    second.autosave.flush()
    assert np.array_equal(AutosaveStore().read().mask, first.doc.mask)  # each writes its own slot
    # a lock left by a process that is gone (a crash) is stale: its slot is taken and offered back
    gone = state_dir() / "instance-2"
    gone.mkdir()
    code = ("import os, sys; from PySide6.QtCore import QLockFile; "
            "lock = QLockFile(sys.argv[1]); assert lock.tryLock(0); os._exit(0)")
    subprocess.run([sys.executable, "-c", code, str(gone / "owner.lock")], check=True)
    assert (gone / "owner.lock").exists()
    slot = claim_slot()
    assert slot is not None and slot[0] == gone  # the first free slot
    slot[1].unlock()
    crashed = state_dir() / "instance-3"
    crashed.mkdir()
    AutosaveStore(crashed).write(AutosaveStore().read())  # a crashed third editor's work
    slot = claim_slot()
    assert slot is not None and slot[0] == crashed  # its work is offered before a free slot is taken
    slot[1].unlock()


def _request(request_id: int, kind: str = "fill", **extra) -> Request:
    """A request as the controller holds one, on a tiny snapshot (nothing runs it)."""
    snap = Snapshot(request_id, np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), bool), np.zeros((2, 2), np.uint8),
                    np.zeros((2, 2), bool))
    return Request(kind, snap, extra=extra)


def test_a_cancelled_fill_s_progress_no_longer_reaches_the_status_line(window: MainWindow, qtbot) -> None:
    inference, seen = window.inference, []
    inference.status.connect(seen.append)
    inference._running, inference._latest = _request(7), -1  # fill 7 was cancelled
    inference.worker.progress.emit("Filling with Auto… 2 of 2 parts done")
    qtbot.wait(50)
    assert seen == []
    inference._latest = 7  # the fill the user is waiting for
    inference.worker.progress.emit("Filling with Auto… 1 of 2 parts done")
    qtbot.waitUntil(lambda: seen == ["Filling with Auto… 1 of 2 parts done"], timeout=2000)
    inference._running = None


def test_cancel_says_it_is_stopping_until_the_fill_that_cannot_be_cut_has(window: MainWindow, qtbot) -> None:
    inference, seen = window.inference, []
    inference.status.connect(seen.append)
    inference._running, inference._latest = _request(7), 7  # fill 7 runs
    window.cancel()  # Esc
    assert inference.stopping
    assert window.statusBar().currentMessage().startswith("Cancelled; stopping the fill in progress")
    assert not window.status.busy.isHidden()  # the machine is still at work: the indicator says so
    qtbot.wait(4500)  # it stays: the machine is still busy
    assert window.statusBar().currentMessage().startswith("Cancelled; stopping")
    inference._on_failed(7, "cancelled")  # the search ended; its result is dropped
    assert not inference.stopping and seen == ["The cancelled fill has stopped"]
    assert window.status.busy.isHidden()
    assert window.statusBar().currentMessage() == "The cancelled fill has stopped"
    # Esc while only a variation of a fill already in the photo runs: the fill stays
    inference._running, inference._latest = _request(8, variation=1), 8
    window.cancel()
    assert window.statusBar().currentMessage() == "Variations cancelled; the fill is kept"
    inference._on_failed(8, "cancelled")
    assert seen[-1] == "The cancelled variation has stopped; the fill is kept"
    inference._running, inference._latest = _request(9, "explain"), 9  # attention
    window.cancel()
    assert "fill is kept" not in window.statusBar().currentMessage()
    inference._on_failed(9, "cancelled")


def test_a_fill_s_progress_stays_on_the_status_line_while_it_runs(window: MainWindow, qtbot) -> None:
    inference = window.inference
    inference._running, inference._latest = _request(7), 7  # fill 7 runs
    inference.status.emit("Filling with Auto (best measured)…")
    qtbot.wait(6500)  # a large hole's one part takes minutes: the line must not go blank
    assert window.statusBar().currentMessage() == "Filling with Auto (best measured)…"
    inference._advance()  # the fill is done: its progress goes
    assert window.statusBar().currentMessage() == ""
    inference.status.emit("Engine loaded")  # news while idle: a few seconds
    qtbot.wait(6500)
    assert window.statusBar().currentMessage() == ""


def test_long_work_shows_its_time_beside_the_busy_bar(window: MainWindow) -> None:
    """A large hole's patch search is one part of a minute or more: a clock says it runs."""
    import time as clock

    window._busy_changed(True)  # work starts: the clock runs, nothing shown in the first seconds
    assert window._clock.isActive()
    window._tick()
    assert window.status.elapsed.isHidden()
    window._busy_since = clock.monotonic() - 65.4  # as if it began a minute ago
    window._tick()
    assert not window.status.elapsed.isHidden() and window.status.elapsed.text() == "1:05"
    window._busy_changed(False)  # done: the clock stops and goes
    assert window.status.elapsed.isHidden() and not window._clock.isActive()


@pytest.mark.skipif(__import__("app.inference.patchmatch", fromlist=["x"]).unavailable_reason() is not None,
                    reason="pypatchmatch not installed")
def test_esc_ends_a_large_hole_s_patch_search_at_once(window: MainWindow, tmp_path: Path, qtbot,
                                                      monkeypatch) -> None:
    from app.inference import search_process
    from app.inference.engines import load_engine

    monkeypatch.setattr(search_process, "CHILD_MIN_HOLE", 1000)  # this hole's search: a child process
    rng = np.random.default_rng(1)
    path = tmp_path / "large.png"
    Image.fromarray(rng.integers(0, 256, (900, 1200, 3), dtype=np.uint8)).save(path)
    window.files.open_path(path)
    window.inference.worker.engine = load_engine("patchmatch")
    paint_hole(window, (100, 100, 1100, 800))  # a search of many seconds
    window.fill()
    qtbot.waitUntil(lambda: bool(search_process.live_children()), timeout=30_000)
    window.cancel()  # Esc
    start = time.perf_counter()
    qtbot.waitUntil(lambda: not window.inference.stopping, timeout=5_000)
    assert time.perf_counter() - start < 3.0  # not the search's full length
    assert not search_process.live_children()  # killed and waited for
    assert window.statusBar().currentMessage() == "The cancelled fill has stopped"
    assert window.status.busy.isHidden()


def test_undo_while_a_fill_runs_stops_the_fill_and_leaves_the_photo(window: MainWindow, photo_path: Path,
                                                                     qtbot) -> None:
    window.files.open_path(photo_path)
    paint_hole(window)
    fill_and_wait(window, qtbot)  # fill A, one undo step
    filled = window.doc.image.copy()
    engine = SlowEngine(1.0)
    window.inference.worker.engine = engine
    paint_hole(window, (40, 30, 50, 40))  # the hole of fill B
    steps = window.undo_stack.index()
    window.fill()
    qtbot.waitUntil(lambda: bool(engine.calls), timeout=5_000)
    window.tools.press((2, 2))  # a rectangle painted while B runs: undoes as usual, B goes on
    window.tools.release((12, 12))
    window.actions_.undo.trigger()  # Ctrl+Z
    assert window.undo_stack.index() == steps and window.inference.filling
    assert window.statusBar().currentMessage() == "Undid: Rectangle mask"
    window.actions_.undo.trigger()  # it would reach what B started from: B stops instead
    assert window.undo_stack.index() == steps and np.array_equal(window.doc.image, filled)
    assert window.statusBar().currentMessage() == "Fill cancelled; Ctrl+Z again undoes: Rectangle mask"
    assert not window.inference.filling
    qtbot.waitUntil(lambda: not window.inference.stopping, timeout=10_000)
    # the line that says it has stopped keeps the advice
    assert window.statusBar().currentMessage() == ("The cancelled fill has stopped; Ctrl+Z again undoes: "
                                                   "Rectangle mask")
    window.actions_.undo.trigger()
    window.actions_.undo.trigger()  # fill A, undone only when asked for
    assert window.undo_stack.index() == steps - 2 and not np.array_equal(window.doc.image, filled)


def test_a_fill_that_waited_for_a_cancelled_one_times_itself_from_zero(window: MainWindow, photo_path: Path,
                                                                        qtbot) -> None:
    window.files.open_path(photo_path)
    engine = SlowEngine(1.0)
    window.inference.worker.engine = engine
    paint_hole(window)
    window.fill()
    qtbot.waitUntil(lambda: len(engine.calls) == 1, timeout=5_000)
    window.cancel()  # Esc: it runs on until its part ends
    window.fill()  # at once: waits for it
    window._busy_since -= 10  # as if the cancelled one had run 10 s
    qtbot.waitUntil(lambda: len(engine.calls) == 2, timeout=5_000)
    assert time.monotonic() - window._busy_since < 2  # the clock beside the busy bar starts again
    qtbot.waitUntil(lambda: not window.inference.busy, timeout=10_000)


def test_a_fill_that_fails_for_the_user_on_a_gpu_is_not_retried_on_the_cpu(qtbot, monkeypatch) -> None:
    """A TemperaError (a patch search killed for lack of memory, say) is not the GPU's trouble:
    reloading the engine on the CPU would only fill again, slower, and stay there."""
    from app.core.errors import TemperaError
    from app.ui.worker import InferenceWorker

    class GpuEngine(SlowEngine):
        device = "CUDA (fake)"

        def fill(self, *a, **k):
            raise TemperaError("the patch search stopped without a fill (killed by the system)")

    worker = InferenceWorker()
    worker.engine = GpuEngine(0.0)
    loads: list[tuple] = []
    monkeypatch.setattr(worker, "load", lambda *a: loads.append(a))
    failed: list[tuple] = []
    worker.failed.connect(lambda rid, message: failed.append((rid, message)))
    doc = Document(np.zeros((16, 16, 3), np.uint8))
    doc.mask[4:8, 4:8] = True
    worker.run(Request("fill", doc.snapshot(5)))
    assert loads == [] and failed == [(5, "the patch search stopped without a fill (killed by the system)")]


def test_undo_during_a_fill_at_the_undo_limit_and_during_a_drag(window: MainWindow, photo_path: Path,
                                                                 qtbot) -> None:
    window.files.open_path(photo_path)
    window.undo_stack.setUndoLimit(3)
    window.tools.set_tool("rect")
    for x in (1, 5, 9):  # the stack is full
        window.tools.press((x, 1))
        window.tools.release((x + 2, 3))
    engine = SlowEngine(1.0)
    window.inference.worker.engine = engine
    window.fill()
    qtbot.waitUntil(lambda: bool(engine.calls), timeout=5_000)
    window.tools.press((20, 20))  # painted while the fill runs: the oldest step drops off the stack
    window.tools.release((24, 24))
    window.actions_.undo.trigger()
    assert window.statusBar().currentMessage() == "Undid: Rectangle mask" and window.inference.filling
    window.tools.set_tool("mask")
    window.tools.press((30, 10))  # a brush stroke being drawn as Ctrl+Z comes
    window.tools.move((34, 12))
    window.actions_.undo.trigger()  # reaches the steps before the fill: the fill stops
    assert not window.inference.filling
    assert window.statusBar().currentMessage().startswith("Fill cancelled; Ctrl+Z again undoes:")
    window.tools.release((34, 12))
    qtbot.waitUntil(lambda: not window.inference.stopping, timeout=10_000)


def test_each_fill_is_logged_for_main_py_v(window: MainWindow, photo_path: Path, qtbot, caplog) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="app.ui.worker")
    window.files.open_path(photo_path)
    paint_hole(window)
    fill_and_wait(window, qtbot)
    said = [r.getMessage() for r in caplog.records if r.name == "app.ui.worker"]
    # the hole with its feather ring: what the engine filled
    assert len(said) == 1 and re.match(r"fill of \d+ hole px in a 48 x 32 photo: telea \(as telea\) on CPU", said[0])
    assert "seed 0" in said[0]  # warm-up fills at start are not logged: the user made none
