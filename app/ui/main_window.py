"""The main window: assembles canvas, actions, panel and controllers, and wires them.

Behaviour lives in small collaborators (FileController, ToolController,
InferenceController, AutosaveController); this class connects them to each other.
"""

from __future__ import annotations

import dataclasses
import time

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
    QUndoCommand,
    QUndoStack,
)
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QDockWidget, QLineEdit, QMainWindow

from app.core.autosave import AutosaveStore
from app.core.document import Document
from app.core.errors import TemperaError
from app.core.fill_plan import plan_fill
from app.core.fill_result import FillResult
from app.core.imageio import keep_from
from app.core.maskops import bounds, grow_mask, invert_mask, mostly_hole, nothing_to_fill_from, shrink_mask
from app.core.names import EDITOR_ENGINES, editor_words, engine_label
from app.core.settings import Settings, config_dir, recent_labels, save_settings
from app.ui import dialogs
from app.ui import help as help_dialogs
from app.ui.actions import TOOL_ACTIONS, create_actions
from app.ui.attention import AttentionViewer
from app.ui.autosave_ui import AutosaveController, claim_slot
from app.ui.canvas import Canvas
from app.ui.commands import FillCommand
from app.ui.docks import PanelScroll, SidePanel, StatusWidgets
from app.ui.files import FileController
from app.ui.layer_edits import LayerEdits
from app.ui.menus import build_menus
from app.ui.scrollframe import CanvasFrame
from app.ui.tools import TOOL_TEXT, ToolController
from app.ui.variations import VariationController, composite
from app.ui.worker import FILL_STOPPED, EngineInfo, InferenceController, Request

# How long closing waits for a fill in progress to stop (a network's forward pass or a small
# hole's patch search cannot be cut; a large hole's search in its child process ends at
# once) before the process ends without it.
QUIT_WAIT_MS = 3000
LARGE_SELECTION = 0.25  # an object selection this share of the photo or more is said as a share
# short enough for the status line beside "Last fill: ..." at 1280 px
SKETCH_NOTE = "Draw an edge across the hole; the fill keeps it. Strokes outside grow the hole (+{} px each side)."
GROWN_NOTE = "The hole grew by {:,} px to cover the sketch, so the fill follows the stroke there; Ctrl+Z undoes it"
TOOL_NOTES = {
    "object": "Drag a box around an object, or click it: its outline joins the mask (Alt-drag subtracts)",
    "protect": "Paint areas no fill may copy from (shown with green stripes); E erases them with Protect active",
}


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings, *, load_engine: bool = True) -> None:
        super().__init__()
        self.left_running = False  # closed with a fill still running (closeEvent): run_gui ends the process
        self._progress_text: str | None = None  # the work's progress on the status line, kept while it runs
        if settings.engine not in EDITOR_ENGINES:  # the ablation is for the command line only
            settings.engine = "auto"
        self.settings = settings
        self.doc: Document | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(settings.undo_limit)
        self.tools = ToolController(self.undo_stack, settings.brush_size, settings.sketch_hole_margin)
        self.canvas = Canvas(self.tools)
        self.canvas.set_overlay_style(QColor(settings.mask_color), settings.mask_opacity,
                                      QColor(settings.sketch_color))
        self.frame = CanvasFrame(self.canvas)  # the canvas with its scrollbars
        self.setCentralWidget(self.frame)
        self.actions_ = create_actions(self)
        self.files = FileController(self)
        slot = claim_slot()  # this editor's own autosave folder: others running keep theirs
        self.autosave = AutosaveController(AutosaveStore(slot[0]) if slot else None, settings.autosave_delay_ms,
                                           self, lock=slot[1] if slot else None)
        self.inference = InferenceController(self)
        self.last_fill: Request | None = None  # inputs of the last applied fill (attention viewer)
        self._fill_step: QUndoCommand | None = None  # that fill's undo step (fill_shown)
        self.variations = VariationController(self)
        self.edits = LayerEdits(self)
        self._build_ui()
        self.attention = AttentionViewer(self)
        self._connect()
        self._update_cancel()
        self._tools_changed()
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        geometry = self._qsettings().value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        QApplication.instance().installEventFilter(self)  # hold-Tab needs key releases too
        self.update_title()
        if load_engine:
            self.inference.load_engine(settings.engine, settings.device)

    @staticmethod
    def _qsettings() -> QSettings:
        # Window geometry only (ADR: QSettings for geometry, JSON for settings), beside them.
        return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)

    # -- construction -------------------------------------------------------------------
    def _build_ui(self) -> None:
        a = self.actions_
        self.recent_menu = build_menus(self, a)
        self.recent_menu.aboutToShow.connect(self.files.prune_recent)  # drop files gone since
        self.panel = SidePanel(a, self.settings.engine, self.settings.device)
        self.panel.set_overlay(QColor(self.settings.mask_color), self.settings.mask_opacity)
        self.panel.set_brush_size(self.settings.brush_size)
        self.panel.set_mask_edges(self.settings.grow_step, self.settings.feather_px)
        dock = QDockWidget("Layers and engine", self)
        dock.setObjectName("panel")
        dock.setWidget(PanelScroll(self.panel))
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.dock = dock
        self.status = StatusWidgets(self.statusBar())
        self._busy_since: float | None = None  # time.monotonic() when the running work began
        self.after_stop: str | None = None  # said with "The cancelled fill has stopped" (why it was)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._tick)
        self.rebuild_recent_menu()
        self._update_enabled()

    def _connect(self) -> None:
        a, f, c = self.actions_, self.files, self.canvas
        a.open.triggered.connect(f.open_dialog)
        a.paste.triggered.connect(f.paste)
        a.copy.triggered.connect(f.copy)
        a.clear_recent.triggered.connect(f.clear_recent)
        a.save.triggered.connect(f.save)
        a.save_as.triggered.connect(f.save_as)
        a.import_mask.triggered.connect(lambda: f.import_layer("mask"))
        a.import_sketch.triggered.connect(lambda: f.import_layer("sketch"))
        a.export_mask.triggered.connect(lambda: f.export_layer("mask"))
        a.export_sketch.triggered.connect(lambda: f.export_layer("sketch"))
        a.import_protect.triggered.connect(lambda: f.import_layer("protect"))
        a.export_protect.triggered.connect(lambda: f.export_layer("protect"))
        a.batch.triggered.connect(self.open_batch)
        a.preferences.triggered.connect(self.open_preferences)
        a.quit.triggered.connect(self.close)
        a.shortcuts.triggered.connect(lambda: help_dialogs.show_shortcuts(self))
        a.about.triggered.connect(lambda: help_dialogs.show_about(
            self, *((engine_label(i.name), i.device) if (i := self.inference.engine) else (None, None))))
        e = self.edits
        a.undo.triggered.connect(lambda: e.step_history(undo=True))
        a.redo.triggered.connect(lambda: e.step_history(undo=False))
        a.clear_mask.triggered.connect(lambda: e.fill_layers("Clear mask", mask=False))
        a.clear_sketch.triggered.connect(lambda: e.fill_layers("Clear sketch", sketch=0))
        a.clear_protect.triggered.connect(lambda: e.fill_layers("Clear protect", protect=False))
        a.restore_mask.triggered.connect(e.restore_last_mask)
        for k in range(1, 4):
            getattr(a, f"variation_{k}").triggered.connect(lambda _=False, i=k - 1: self.variations.pick(i))
        self.variations.changed.connect(lambda text: (self.statusBar().showMessage(text, 15000), self._update_enabled()))
        a.grow_mask.triggered.connect(lambda: e.refine_mask("Grow mask", grow_mask, self.panel.grow_step()))
        a.shrink_mask.triggered.connect(lambda: e.refine_mask("Shrink mask", shrink_mask, self.panel.grow_step()))
        a.invert_mask.triggered.connect(lambda: e.refine_mask("Invert mask", lambda m, _px: invert_mask(m), 0))
        a.split.toggled.connect(c.set_split)
        self.tools.selection_empty.connect(
            lambda: self.statusBar().showMessage("No object found there: drag a box around it", 5000))
        self.tools.selection_done.connect(self._object_selected)
        self.tools.selector.busy_changed.connect(
            lambda busy: (self.statusBar().showMessage("Selecting the object… (Esc cancels)", 60000) if busy
                          else self.statusBar().clearMessage(), self._update_cancel()))
        for name, tool in TOOL_ACTIONS.items():
            getattr(a, name).triggered.connect(lambda _=False, t=tool: self.tools.set_tool(t))
        a.smaller.triggered.connect(lambda: self._step_brush(False))
        a.bigger.triggered.connect(lambda: self._step_brush(True))
        a.fill.triggered.connect(self.fill)
        a.cancel.triggered.connect(self.cancel)
        a.zoom_in.triggered.connect(lambda: c.zoom_step(True, c.rect().center()))
        a.zoom_out.triggered.connect(lambda: c.zoom_step(False, c.rect().center()))
        a.fit.triggered.connect(lambda: c.fit(enlarge=True))
        a.actual.triggered.connect(c.actual_size)
        a.show_mask.toggled.connect(lambda on: (setattr(c, "show_mask", on), c.update()))
        a.show_sketch.toggled.connect(lambda on: (setattr(c, "show_sketch", on), c.update()))
        a.show_panel.toggled.connect(self.dock.setVisible)
        a.show_protect.toggled.connect(lambda on: (setattr(c, "show_protect", on), c.update()))
        a.tool_protect.triggered.connect(lambda: a.show_protect.setChecked(True))  # no painting unseen
        self.undo_stack.cleanChanged.connect(lambda _clean: self.update_title())
        self.undo_stack.indexChanged.connect(lambda _i: (self.autosave.schedule(), self._update_enabled()))
        self.tools.changed.connect(self._tools_changed)
        self.tools.stroke_finished.connect(self._stroke_finished)
        self.tools.painting.connect(self._painting)
        self.tools.preview_changed.connect(self._update_cancel)
        c.view_changed.connect(lambda: self.status.zoom.setText(f"{c.scale * 100:.0f} %" if self.doc is not None else "–"))
        c.hover.connect(lambda x, y: self.status.pos.setText(f"{x}, {y}" if x >= 0 else ""))
        c.refused.connect(lambda why: self.statusBar().showMessage(why, 5000))
        p = self.panel
        p.brush_size_changed.connect(self.tools.set_brush_size)
        p.layer_chosen.connect(self.tools.set_active_layer)
        p.overlay_changed.connect(self._overlay_changed)
        p.engine_chosen.connect(self._engine_chosen)
        p.typed.connect(self.canvas.setFocus)
        c.entered.connect(self._keys_to_photo)
        inf = self.inference
        inf.busy_changed.connect(self._busy_changed)
        inf.started.connect(self._work_started)
        inf.status.connect(self._inference_status)
        inf.engine_changed.connect(self._engine_loaded)
        inf.engine_error.connect(self._engine_error)
        inf.notice.connect(lambda n: self.panel.notice.setText(editor_words(n) if n else ""))
        inf.fill_done.connect(self.apply_fill)
        inf.failed.connect(lambda req, msg: req.kind == "fill" and dialogs.show_error(self, f"Fill failed: {msg}"))
        inf.failed.connect(lambda req, _msg: req.candidate and self.variations.stopped())

    # -- document -----------------------------------------------------------------------
    def set_document(self, doc: Document | None) -> None:
        self.inference.cancel()
        self.undo_stack.clear()
        self.undo_stack.setUndoLimit(self.settings.undo_limit)  # Preferences may have changed it (empty stack only)
        self.doc = doc
        self.variations.forget()  # 1, 2, 3 must never bring the last photo's fill into this one
        self.last_fill, self._fill_step = None, None
        self.status.last_fill.setText("Last fill: –")  # that fill was of another photo
        self.status.pos.setText("")  # a position on the previous photo means nothing here
        self.attention.reset()
        self.tools.set_document(doc)
        self.canvas.set_document(doc)
        self.canvas.setFocus()  # Space-drag and the tool keys act on the photo at once
        self.autosave.set_document(doc)
        self.actions_.attention.setChecked(False)
        self._tools_changed()
        self._update_enabled()
        self.update_title()

    def update_title(self) -> None:
        if self.doc is None:
            self.setWindowTitle("Tempera")
            return
        star = "*" if self.files.is_modified() else ""
        self.setWindowTitle(f"{star}{self.doc.name} ({self.doc.width} × {self.doc.height}) – Tempera")

    def rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = self.settings.recent_files
        for i, (path, name) in enumerate(zip(paths, recent_labels(paths), strict=True), start=1):
            label = name.replace("&", "&&")
            action = self.recent_menu.addAction(f"&{i} {label}" if i < 10 else label)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: self.files.open_recent(p))
        self.recent_menu.setToolTipsVisible(True)
        if self.settings.recent_files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction(self.actions_.clear_recent)
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

    def _update_enabled(self) -> None:
        has = self.doc is not None
        a = self.actions_
        for name in ("save", "save_as", "copy", "import_mask", "export_mask", "import_sketch", "export_sketch",
                     "import_protect", "export_protect",
                     "clear_mask", "clear_sketch", "clear_protect", "fill", "fit", "actual", "zoom_in", "zoom_out",
                     "grow_mask", "shrink_mask", "invert_mask", "split"):
            getattr(a, name).setEnabled(has)
        a.undo.setEnabled(self.undo_stack.canUndo())
        a.redo.setEnabled(self.undo_stack.canRedo())
        # the Edit menu names the step, as editors do: "Undo Fill (Auto)"
        a.undo.setText(f"&Undo {self.undo_stack.undoText()}".rstrip())
        a.redo.setText(f"&Redo {self.undo_stack.redoText()}".rstrip())
        a.restore_mask.setEnabled(has and self.doc.last_mask is not None)  # type: ignore[union-attr]
        for k in range(1, 4):  # the last fill's candidates that can be shown now
            # a candidate still being computed stays enabled, so its key says so when pressed
            getattr(a, f"variation_{k}").setEnabled(self.variations.available(k - 1) or self.variations.pending(k - 1))

    def restore_last_mask(self) -> None:
        self.edits.restore_last_mask()

    # -- tools and view -----------------------------------------------------------------
    def _tools_changed(self) -> None:
        t = self.tools
        self.panel.set_brush_size(t.brush_size)
        self.panel.set_active_layer(t.active_layer)
        self.settings.brush_size = t.brush_size
        for name, tool in TOOL_ACTIONS.items():
            if tool == t.tool:
                getattr(self.actions_, name).setChecked(True)
        if self.doc is None:
            self.panel.sketch_width.setText("set by the photo's size")
        else:
            self.panel.sketch_width.setText(f"{t.sketch_width()} px (set by the photo's size)")
        if t.tool == "sketch" and self.doc is not None:
            self.statusBar().showMessage(SKETCH_NOTE.format(t.hole_margin), 8000)
        elif t.tool in TOOL_NOTES and self.doc is not None:
            self.statusBar().showMessage(TOOL_NOTES[t.tool], 8000)
        elif self.statusBar().currentMessage() in (SKETCH_NOTE.format(t.hole_margin), *TOOL_NOTES.values()):
            self.statusBar().clearMessage()  # another tool's note would describe this one

    def _painting(self, layer: str) -> None:
        """No painting unseen: a press on a hidden layer shows it, and says so."""
        show = getattr(self.actions_, f"show_{layer}")
        if not show.isChecked():
            show.setChecked(True)
            keys = show.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            self.statusBar().showMessage(f"Showing the {layer} you are painting on ({keys} hides it)", 5000)

    def _stroke_finished(self) -> None:
        """A sketch stroke outside the hole grew it: make sure the new hole is seen."""
        command = self.undo_stack.command(self.undo_stack.index() - 1)
        if command is None or command.text() != TOOL_TEXT["sketch"]:
            return
        grown = sum(len(d.new) for d in getattr(command, "diffs", ()) if d.layer == "mask")
        if grown:
            self.show_grown_hole(grown)

    def show_grown_hole(self, pixels: int) -> None:
        if not self.actions_.show_mask.isChecked():
            self.actions_.show_mask.setChecked(True)  # a hidden overlay would hide the new hole
        self.statusBar().showMessage(GROWN_NOTE.format(pixels), 6000)

    def _step_brush(self, up: bool) -> None:
        self.tools.step_brush_size(up)
        if self.tools.tool == "sketch":  # the key did something, but not to the pen in hand
            self.statusBar().showMessage(f"The sketch pen's width is set by the photo's size; [ and ] size the "
                                         f"brushes and the eraser (now {self.tools.brush_size} px)", 6000)

    def fill_shown(self) -> bool:
        """Whether the last fill is in the photo on screen (not undone; a redo brings it back)."""
        stack, step = self.undo_stack, self._fill_step
        return step is not None and any(stack.command(i) is step for i in range(stack.index()))

    def open_preferences(self) -> None:
        from app.ui.preferences import Choices, ask_preferences

        chosen = ask_preferences(self, Choices.of(self.settings))
        if chosen is None:
            return
        s = self.settings
        s.undo_limit, s.recent_max, s.save_quality = chosen.undo_limit, chosen.recent_max, chosen.save_quality
        s.sketch_color, s.sketch_hole_margin = chosen.sketch_color, chosen.sketch_hole_margin
        if self.undo_stack.count() == 0:  # Qt takes a new limit only on an empty history
            self.undo_stack.setUndoLimit(s.undo_limit)
        del s.recent_files[s.recent_max :]
        self.rebuild_recent_menu()
        self.tools.hole_margin = s.sketch_hole_margin
        self.canvas.set_overlay_style(QColor(s.mask_color), s.mask_opacity, QColor(s.sketch_color))
        try:
            save_settings(s)
        except OSError as exc:
            dialogs.show_error(self, f"cannot save settings: {exc}")
            return
        self.statusBar().showMessage("Preferences saved", 4000)

    def _overlay_changed(self, color: QColor, opacity: float) -> None:
        self.settings.mask_color, self.settings.mask_opacity = color.name(), opacity
        self.canvas.set_overlay_style(color, opacity, QColor(self.settings.sketch_color))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # Hold Tab to see the original: Tab would otherwise move keyboard focus.
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and self.isActiveWindow():
            key_event: QKeyEvent = event  # type: ignore[assignment]
            if key_event.key() == Qt.Key.Key_Tab and not isinstance(QApplication.focusWidget(), QLineEdit):
                if not key_event.isAutoRepeat():
                    self.canvas.set_show_original(event.type() == QEvent.Type.KeyPress and self.doc is not None)
                return True
        return super().eventFilter(obj, event)

    # -- inference ----------------------------------------------------------------------
    def fill(self) -> None:
        doc = self.doc
        if doc is None:
            return
        self.after_stop = None  # another fill: the last one's advice no longer applies
        if not doc.has_hole():
            self.statusBar().showMessage("Paint a mask over what should be filled first (B, R, L or W)", 5000)
            return
        most = mostly_hole(doc.mask, files=False)
        if most:  # likely inverted: asked before the plan, which takes seconds on a large photo
            problem = nothing_to_fill_from(doc.mask, keep_from(doc.protect, doc.alpha(), doc.mask))
            if problem:  # a whole-photo hole is refused without a question
                self._refuse_fill(problem)
                return
            if not dialogs.ask_fill_most(self, most):
                return
        snap, px = doc.snapshot(self.inference.new_id()), self.panel.feather_px()
        hole = snap.mask
        try:  # the plan inpaint and batch make too; apply_fill blends the feather ring
            plan = plan_fill(snap.image, doc.alpha(), hole, snap.protect, px)
        except TemperaError as exc:  # a fill would give black or a blur of what was to go
            self._refuse_fill(str(exc))
            return
        snap = dataclasses.replace(snap, mask=plan.hole, protect=plan.protect)
        # undo reaches back past this step (the top one as the fill starts) only once the fill is stopped
        extra = {"doc": id(doc), "image_version": doc.image_version, "hole": hole, "feather": px,
                 "undo_top": self.undo_stack.command(self.undo_stack.index() - 1)}
        if plan.seen is not snap.image:  # transparent pixels show the engine no hidden colour
            extra["engine_image"] = plan.seen
        request = Request("fill", snap, extra=extra)
        self.inference.submit(request)

    def _refuse_fill(self, problem: str) -> None:
        """Say in the status line why there is nothing to fill from (one line)."""
        self.statusBar().showMessage(problem[0].upper() + problem[1:], 8000)

    def _keys_to_photo(self) -> None:
        """The pointer is back on the photo after a number box of the panel was clicked or
        typed in: the tool keys (B, E, [ ...) act on the photo again, and the box keeps what
        was typed (it commits as it loses the focus)."""
        focus = QApplication.focusWidget()
        if focus is not None and self.panel.isAncestorOf(focus) and isinstance(focus, (QAbstractSpinBox, QLineEdit)):
            self.canvas.setFocus()

    def cancel(self) -> None:
        """Esc: a rectangle or lasso being drawn, an object selection, else the running work."""
        if self.tools.dragging:
            self.tools.cancel()
        elif self.tools.selector.cancel():
            self.statusBar().showMessage("Object selection cancelled", 4000)
        else:
            self.stop_work()

    def stop_work(self) -> None:
        """Cancel the running fill, variations or attention map, and say so."""
        self.after_stop = None
        candidates = self.inference.varying  # only variations were coming
        if not self.inference.cancel():
            return
        self.attention.cancel()
        self.variations.stopped()
        self._update_enabled()
        if candidates:  # the fill itself is in the photo and stays
            self.statusBar().showMessage("Variations cancelled; the fill is kept", 6000)
        elif self.inference.stopping:  # shown until it has: the machine stays busy until then
            # short enough for the status line beside its permanent fields at 1280 px
            self.statusBar().showMessage("Cancelled; stopping the fill in progress (its result is dropped)…")
        else:
            self.statusBar().showMessage("Cancelled", 4000)

    def apply_fill(self, request: Request, result: FillResult, seconds: float) -> None:
        doc = self.doc
        if doc is None or request.extra.get("doc") != id(doc):
            return  # another photo was opened meanwhile
        if request.candidate:  # a background candidate of the last fill
            self.variations.arrived(request, result)
            return
        if request.extra.get("image_version") != doc.image_version:
            self.statusBar().showMessage("The image changed while filling; fill again", 6000)
            return
        engine = self.inference.engine.name if self.inference.engine else "engine"
        used = result.engine
        snap = request.snapshot
        image = composite(request, result)
        step = FillCommand(doc, image, request.extra.get("hole", snap.mask), snap.sketch, used,
                           within=bounds(snap.mask))  # the engine's hole, ring included
        self.undo_stack.push(step)
        self._fill_step = step
        if used != engine:  # auto names its choice; a guided network hands a hole without strokes on
            why = "Auto's choice" if engine == "auto" else "no strokes in the hole"
            engine = f"{engine_label(used)} ({why})"
        else:
            engine = engine_label(used)
        self.last_fill = request
        # kept in view: the status line's own message moves on to the variations
        self.status.last_fill.setText(f"Last fill: {engine}, {seconds:.2f} s")
        info = self.inference.engine
        self.variations.started(request, image, searches=bool(info and info.randomized),
                                lead=f"Filled with {engine} in {seconds:.2f} s", engine=info.name if info else None)
        self._update_enabled()
        self.attention.clear()  # the map described the photo before this fill

    def _inference_status(self, text: str) -> None:
        """Progress stays on the status line while its work runs (a large fill's one part can
        take minutes); other news for a few seconds."""
        busy = self.inference.busy or self.inference.stopping
        if text == FILL_STOPPED and self.after_stop:  # an undo stopped it: say what the next one does
            text, self.after_stop = f"{text}; {self.after_stop}", None
        self._progress_text = text if busy else None
        self.statusBar().showMessage(text, 0 if busy else 6000)

    def _work_started(self) -> None:
        """A request began to run: its clock starts at zero (a fill that waited for a
        cancelled one to stop did not run meanwhile)."""
        if self._busy_since is not None:
            self._busy_since = time.monotonic()
            self.status.show_elapsed(None)

    def _tick(self) -> None:
        """Once a second while work runs: its time beside the busy bar."""
        if self._busy_since is not None:
            self.status.show_elapsed(time.monotonic() - self._busy_since)

    def _busy_changed(self, busy: bool) -> None:
        working = busy or self.inference.stopping
        if working and self._busy_since is None:
            self._busy_since = time.monotonic()
            self._clock.start()
        elif not working:
            self._busy_since = None
            self._clock.stop()
            self.status.show_elapsed(None)
        if not busy and self._progress_text is not None:
            if self.statusBar().currentMessage() == self._progress_text:  # nothing said since
                self.statusBar().clearMessage()
            self._progress_text = None
        # a cancelled fill still works until its current part ends: the machine is not free
        self.status.busy.setVisible(working)
        self._update_cancel()
        self._update_enabled()  # keys of candidates that are no longer coming grey out

    def _update_cancel(self) -> None:
        # Esc abandons a rectangle / lasso in progress, an object selection, or the running fill.
        self.actions_.cancel.setEnabled(self.inference.busy or self.tools.dragging or self.tools.selector.busy)

    def _engine_chosen(self, name: str, device: str) -> None:
        self.settings.engine, self.settings.device = name, device
        self.status.engine.setText(f"Engine: loading {engine_label(name)}…")
        self.inference.load_engine(name, device)

    def _engine_loaded(self, info: EngineInfo) -> None:
        self.status.set_engine(info.name, info.device)
        self.panel.set_devices(info.devices)
        notice = editor_words(info.notice) if info.notice else ""
        self.panel.notice.setText(notice)
        unsaid, self.variations.unsaid = self.variations.unsaid, None
        if notice or unsaid:  # the loading news hid why the last fill has no variations
            self.statusBar().showMessage(" · ".join(t for t in (unsaid, notice) if t), 10000)

    def _object_selected(self, n: int, added: bool) -> None:
        share = n / max(1, self.doc.width * self.doc.height) if self.doc is not None else 0.0
        if added and share >= LARGE_SELECTION:  # a click's guess may run into the background
            self.statusBar().showMessage(
                f"Selected {n:,} px, {share:.0%} of the photo: if that is more than the object, Ctrl+Z "
                "and drag a box around it instead", 10000)
            return
        self.statusBar().showMessage(f"Selected an object of {n:,} px: " + (
            "Ctrl+Return fills it, Alt+] grows it" if added else "taken out of the mask"), 6000)

    def _engine_error(self, message: str) -> None:
        self.status.engine.setText("Engine: none")
        dialogs.show_error(self, message)

    # -- batch, drops, closing ----------------------------------------------------------
    def open_batch(self) -> None:
        from app.ui.batch_dialog import BatchDialog

        dialog = BatchDialog(self, self.settings, feather=self.panel.feather_px())
        dialog.exec()
        if dialog.last_summary:  # also when it was closed while it ran, before the summary could show
            self.statusBar().showMessage(f"Batch export: {dialog.last_headline}", 15000)
        dialog.deleteLater()  # a child of the window: without this every opening would stay alive

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.files.droppable(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self.files.droppable(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.files.drop(event.mimeData()):
            event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.files.saving:  # the window's close button while a save is written: it finishes first
            event.ignore()
            return
        if not self.files.confirm_discard():
            event.ignore()
            return
        # what must survive is written first: a network pass in progress cannot be cut, and
        # the editor does not wait for it (QUIT_WAIT_MS; run_gui then ends the process; a
        # patch search in a child process ends with it)
        self._qsettings().setValue("geometry", self.saveGeometry())
        self.settings.grow_step, self.settings.feather_px = self.panel.grow_step(), self.panel.feather_px()
        try:
            save_settings(self.settings)
        except OSError as exc:
            dialogs.show_error(self, f"cannot save settings: {exc}")
        self.hide()
        self.undo_stack.blockSignals(True)  # its teardown must not call back into a dead window
        self.inference.cancel()
        self.left_running = not self.inference.shutdown(QUIT_WAIT_MS)
        self.autosave.clear()  # saved or deliberately discarded: nothing to recover
        self.autosave.shutdown()
        QApplication.instance().removeEventFilter(self)
        event.accept()
