"""A fill offers three candidates; keys 1, 2, 3 pick one (issue: variations in the editor)."""

from __future__ import annotations

import os
import re

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

from app.core.fill_result import FillResult
from app.ui.worker import EngineInfo
from tests.test_ui_session import make_window, paint_hole


class SeededEngine:
    """Fills the hole with a grey that depends on the seed, like a patch search would."""

    name, device, guided, startup_notice, randomized = "seeded", "CPU", False, None, True

    def __init__(self) -> None:
        self.seeds: list[int] = []

    def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None):
        self.seeds.append(seed)
        out = rgb.copy()
        out[mask] = 40 + 60 * seed
        return FillResult(out, self.name, seed=seed)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from app.ui import dialogs

    monkeypatch.setenv("TEMPERA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TEMPERA_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(dialogs, "ask_unsaved", lambda *a: "discard")
    return make_window(qtbot)


def _fill_with_variations(window, photo_path, qtbot, engine) -> np.ndarray:
    window.files.open_path(photo_path)
    window.panel.feather_check.setChecked(False)  # the hole's pixels are exactly the engine's
    window.inference.worker.engine = engine
    window.inference.engine = EngineInfo(engine.name, "CPU", None, False, engine.randomized)
    paint_hole(window)
    hole = window.doc.mask.copy()
    window.actions_.fill.trigger()
    qtbot.waitUntil(lambda: len(window.variations.images) == 3
                    and all(im is not None for im in window.variations.images), timeout=30_000)
    return hole


def test_three_candidates_first_applied_and_keys_pick(window, photo_path, qtbot) -> None:
    engine = SeededEngine()
    hole = _fill_with_variations(window, photo_path, qtbot, engine)
    doc = window.doc
    assert engine.seeds == [0, 1, 2]
    assert (doc.image[hole] == 40).all()  # the first candidate was applied at once
    assert all(getattr(window.actions_, f"variation_{k}").isEnabled() for k in (1, 2, 3))
    assert window.actions_.variation_2.shortcut().toString() == "2"
    window.actions_.variation_2.trigger()
    assert (doc.image[hole] == 100).all() and window.variations.current == 1
    window.actions_.variation_3.trigger()
    assert (doc.image[hole] == 160).all() and window.variations.current == 2
    assert window.statusBar().currentMessage() == "Variation 3 of 3; Ctrl+Z goes back to variation 1"
    fill_step = window.undo_stack.index() - 2  # picks never pile up: one step above the fill
    assert window.undo_stack.command(fill_step).text() == "Fill (seeded)"
    window.actions_.undo.trigger()  # back to the first candidate, not to variation 2
    assert (doc.image[hole] == 40).all() and window.variations.current == 0
    assert window.statusBar().currentMessage() == "Undid: Use variation 3"  # a pick barely shows
    window.actions_.redo.trigger()
    assert window.statusBar().currentMessage() == "Redid: Use variation 3"
    assert (doc.image[hole] == 160).all()
    window.actions_.variation_2.trigger()
    window.actions_.variation_1.trigger()  # the fill itself: the picks leave no step behind
    assert (doc.image[hole] == 40).all() and window.undo_stack.index() == fill_step + 1
    assert window.statusBar().currentMessage() == "Variation 1 of 3; Ctrl+Z undoes the fill"
    window.actions_.variation_3.trigger()
    window.actions_.undo.trigger()
    window.actions_.undo.trigger()  # two Ctrl+Z after any number of picks: the fill is gone
    assert window.statusBar().currentMessage() == "Undid: Fill (seeded)" and not (doc.image[hole] == 40).all()
    window.actions_.redo.trigger()
    assert (doc.image[hole] == 40).all()
    # another edit after the fill: picking would revert it, so it is refused
    paint_hole(window, (2, 2, 8, 8))
    assert not window.variations.pick(1) and (doc.image[hole] == 40).all()
    assert not window.actions_.variation_2.isEnabled()  # greyed out in the Edit menu too
    window.actions_.undo.trigger()  # the edit goes: picks are offered again
    assert window.variations.pick(1) and (doc.image[hole] == 100).all()


def test_a_deterministic_engine_offers_no_variations(window, photo_path, qtbot) -> None:
    engine = SeededEngine()
    engine.randomized = False
    window.files.open_path(photo_path)
    window.panel.feather_check.setChecked(False)
    window.inference.worker.engine = engine
    window.inference.engine = EngineInfo(engine.name, "CPU", None, False, False)
    paint_hole(window)
    with qtbot.waitSignal(window.inference.fill_done, timeout=30_000):
        window.actions_.fill.trigger()
    qtbot.wait(200)
    assert engine.seeds == [0]
    assert not window.actions_.variation_2.isEnabled() and window.actions_.variation_1.isEnabled()
    assert not window.variations.pick(1)
    assert "No variation 2" in window.statusBar().currentMessage()
    assert window.actions_.undo.text() == "&Undo Fill (seeded)"  # the Edit menu names the step
    window.actions_.undo.trigger()
    assert window.statusBar().currentMessage() == "Undid: Fill (seeded)"
    assert window.actions_.redo.text() == "&Redo Fill (seeded)"


def test_status_line_names_the_fill_then_each_variation(window, photo_path, qtbot) -> None:
    """The line after a fill says which engine filled; background candidates never read as
    a new "Filling with ..." and each one's progress stays readable (walk of issue 11)."""
    seen: list[str] = []
    window.statusBar().messageChanged.connect(lambda text: text and seen.append(text))
    _fill_with_variations(window, photo_path, qtbot, SeededEngine())
    qtbot.wait(100)
    filled = [i for i, t in enumerate(seen) if t.startswith("Filled with")]
    assert filled, seen
    after = seen[filled[0]:]
    assert re.fullmatch(r"Filled with seeded in \d+\.\d\d s; computing variation 2 of 3…", after[0]), after
    assert not any(t.startswith("Filling with") for t in after), after
    assert any(t.startswith("Variation 2 of 3 ready (press 1, 2); computing variation 3 of 3") for t in after)
    assert window.statusBar().currentMessage() == "Variation 3 of 3 ready: press 1, 2, 3 to compare"


class SlowSeeded(SeededEngine):
    """SeededEngine whose variations (seeds above 0) wait for ``release``."""

    def __init__(self) -> None:
        import threading

        super().__init__()
        self.release = threading.Event()

    def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None):
        if seed:
            self.release.wait(20)
        return super().fill(rgb, mask, sketch, protect=protect, seed=seed, progress=progress)


def _fill_slowly(window, photo_path, qtbot) -> tuple[SlowSeeded, np.ndarray]:
    """Open, paint, fill with a SlowSeeded engine and wait for the fill itself (its
    variations wait for ``engine.release``): the engine and the hole."""
    engine = SlowSeeded()
    window.files.open_path(photo_path)
    window.panel.feather_check.setChecked(False)
    window.inference.worker.engine = engine
    window.inference.engine = EngineInfo(engine.name, "CPU", None, False, True)
    paint_hole(window)
    hole = window.doc.mask.copy()
    with qtbot.waitSignal(window.inference.fill_done, timeout=30_000):
        window.actions_.fill.trigger()
    return engine, hole


def test_a_key_pressed_before_its_variation_is_ready_says_so(window, photo_path, qtbot) -> None:
    """Keys 2 and 3 stay live while their candidates are computed, and say so when pressed
    early, instead of doing nothing; Esc stops the candidates and greys the keys out."""
    engine, hole = _fill_slowly(window, photo_path, qtbot)
    try:
        qtbot.waitUntil(lambda: window.variations.pending(2), timeout=10_000)
        assert window.actions_.variation_3.isEnabled()
        window.actions_.variation_3.trigger()
        assert window.statusBar().currentMessage().startswith("Variation 3 of 3 is still being computed")
        assert (window.doc.image[hole] == 40).all()  # still the first candidate
        window.cancel()  # Esc: the candidates are dropped
        assert not window.variations.pending(2)
        assert not window.actions_.variation_3.isEnabled()
    finally:
        engine.release.set()


def test_an_undone_fill_s_variations_are_not_announced(window, photo_path, qtbot) -> None:
    """Undo while a candidate is computed: it is kept for a redo but not offered, and the
    rest are not computed for a fill the photo no longer shows."""
    engine, hole = _fill_slowly(window, photo_path, qtbot)
    try:
        qtbot.waitUntil(lambda: window.variations.pending(1), timeout=10_000)
        window.actions_.undo.trigger()  # the fill is undone while variation 2 is computed
    finally:
        engine.release.set()
    qtbot.waitUntil(lambda: window.variations.images[1] is not None, timeout=10_000)
    qtbot.wait(200)
    assert "ready" not in window.statusBar().currentMessage()
    assert engine.seeds == [0, 1]  # variation 3 was not asked for
    assert not window.actions_.variation_2.isEnabled()
    window.actions_.redo.trigger()  # the fill is back: the candidate kept is offered again
    assert window.actions_.variation_2.isEnabled()
    window.actions_.variation_2.trigger()
    assert (window.doc.image[hole] == 100).all()


class SlowSeededEngine(SeededEngine):
    def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None):
        import time

        time.sleep(0.5)
        return super().fill(rgb, mask, sketch, protect=protect, seed=seed, progress=progress, drawn=drawn)


def test_no_variations_come_from_an_engine_chosen_while_the_fill_ran(window, photo_path, qtbot) -> None:
    """A walkthrough chose Network while Auto filled: the candidates came from Network, and
    the status line said "Network gives one result for this hole" of Auto's fill. The worker
    loads the chosen engine after the fill, so it is still loading when the fill lands."""
    engine = SlowSeededEngine()
    window.files.open_path(photo_path)
    window.inference.worker.engine = engine
    window.inference.engine = EngineInfo(engine.name, "CPU", None, False, True)
    paint_hole(window)
    with qtbot.waitSignal(window.inference.fill_done, timeout=30_000):
        window.actions_.fill.trigger()
        window.inference.loading = True  # as load_engine sets it when another engine is chosen
    qtbot.wait(300)
    assert engine.seeds == [0]
    assert window.statusBar().currentMessage().startswith("Filled with seeded in ")
    said = window.statusBar().currentMessage()
    assert said.endswith("; no variations: another engine was chosen")
    window.statusBar().showMessage("Warming up Network on CPU…")  # the load's own news covers it
    window.inference._on_loaded(EngineInfo("mtsa", "CPU", None, False, False))  # then it is ready
    assert window.statusBar().currentMessage() == said  # and the line says it again
    window.inference.worker.engine = engine


def test_another_photo_forgets_the_last_fill_s_variations(window, photo_path, qtbot, tmp_path) -> None:
    """A walkthrough filled one photo, opened another of the same size, painted and pressed 2:
    the first photo's variation replaced the second photo."""
    from PIL import Image

    engine = SeededEngine()
    _fill_with_variations(window, photo_path, qtbot, engine)
    other = tmp_path / "other.png"
    Image.open(photo_path).convert("RGB").transpose(Image.FLIP_LEFT_RIGHT).save(other)
    assert window.files.open_path(other, confirm=False)
    before = window.doc.image.copy()
    paint_hole(window)  # as many steps as after the fill: the undo index alone would match
    assert not window.actions_.variation_2.isEnabled()
    assert not window.variations.pick(1)
    assert np.array_equal(window.doc.image, before)
    assert window.statusBar().currentMessage().startswith("Fill first")
    assert window.variations.images == []  # the other photo's candidates are not kept
