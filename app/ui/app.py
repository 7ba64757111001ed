"""GUI entry point: ``run_gui(path_or_none) -> exit code`` (main.py calls it)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.core.document import Document
from app.core.errors import TemperaError
from app.core.imageio import load_image
from app.core.names import short_name
from app.core.settings import load_settings
from app.ui import dialogs
from app.ui.commands import replace_layers


def _dark_palette(app: QApplication) -> None:
    # Photos are judged against a neutral dark surround, as in other image editors.
    app.setStyle("Fusion")
    pal = QPalette()
    for role, color in {
        QPalette.ColorRole.Window: "#2b2b2f", QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1f1f22", QPalette.ColorRole.AlternateBase: "#2b2b2f",
        QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#36363b",
        QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.Highlight: "#ff2d55",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#f5f5f5",
        QPalette.ColorRole.ToolTipText: "#111111",
    }.items():
        pal.setColor(role, QColor(color))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#777777"))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#777777"))
    app.setPalette(pal)


def offer_restore(window, asked: Path | None = None) -> bool:
    """Offer back the autosaved work of a session that did not end cleanly; ``asked``: the
    photo named on the command line, which the question names when a restore would leave
    it unopened."""
    state = window.autosave.read()  # this editor's slot only: a running editor's work is its own
    instead = _left_unopened(state.source_path, asked) if state is not None else None
    if state is None or not dialogs.ask_restore(window, state, instead):
        if state is not None:
            window.autosave.clear()
        return False
    source = None
    try:
        if state.source_path and Path(state.source_path).exists():
            source = load_image(state.source_path)
    except TemperaError:
        source = None
    if source is not None and source.size == state.size_wh:
        doc = Document(source.rgb, source=source, path=Path(state.source_path))
    elif state.image is not None:
        doc = Document(state.image)  # the original is gone or changed: keep the pixels
    else:
        dialogs.show_error(window, f"cannot restore: {state.source_path} is missing or changed")
        return False
    if state.save_path:  # Ctrl+S goes where it went before the crash, and the title says so
        doc.save_path, doc.save_quality = Path(state.save_path), state.save_quality
    window.set_document(doc)
    if doc.path is not None:  # Open and Save As start in its folder, as after opening it
        window.files.last_dir = doc.path.absolute().parent
    layers = {"mask": state.mask, "sketch": state.sketch}
    if state.protect is not None:
        layers["protect"] = state.protect
    if state.opaque is not None and doc.has_alpha():
        layers["opaque"] = state.opaque  # filled holes of a photo with transparency stay opaque
    if state.image is not None:
        layers["image"] = state.image
    command = replace_layers(doc, "Restore autosaved work", **layers)
    if command is not None:
        window.undo_stack.push(command)  # unsaved again, and undoable
    return True


def _left_unopened(restored: str | Path | None, asked: Path | None) -> str | None:
    """The name of the photo named on the command line when restoring the work on
    ``restored`` (its photo's path; None for a pasted image) leaves it unopened."""
    if asked is None or (restored is not None and Path(restored).resolve() == asked.resolve()):
        return None
    return asked.name


def restored_instead(doc: Document | None, asked: Path) -> str:
    """What the status line says when the work restored after a crash is shown instead of
    the photo named on the command line (the editor holds one photo)."""
    path = doc.path if doc is not None else None
    unopened = _left_unopened(path, asked)
    if unopened is None:
        return f"Restored the unsaved work on {short_name(asked.name)}"
    shown = short_name(path.name) if path is not None else "a pasted image"
    return (f"Restored the unsaved work on {shown}; {short_name(unopened)} was not opened: "
            "open it (Ctrl+O) once this work is saved")


def run_gui(path: str | Path | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Tempera")
    app.setOrganizationName("Tempera")
    _dark_palette(app)
    from app.ui.main_window import MainWindow  # after QApplication: icons need it

    settings = load_settings()
    window = MainWindow(settings)
    window.show()
    if settings.problems:
        window.statusBar().showMessage("Settings: " + "; ".join(settings.problems), 10000)

    def start() -> None:
        if not offer_restore(window, Path(path) if path is not None else None):
            if path is not None:
                window.files.open_path(path, confirm=False)
        elif path is not None:
            window.statusBar().showMessage(restored_instead(window.doc, Path(path)), 15000)

    QTimer.singleShot(0, start)
    app.setAttribute(Qt.ApplicationAttribute.AA_DontShowIconsInMenus, False)
    code = int(app.exec())
    if window.left_running:
        # a fill still runs in native code (closeEvent waited QUIT_WAIT_MS and saved what
        # must survive): end now, not when it finishes; tearing Qt down around a running
        # thread would abort instead
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    # Delete the window now, while the application is whole. Left to Python's exit, it is
    # freed by whichever signal-connected lambda happens to drop the last reference while
    # PySide tears the application down, and its children can be deleted twice
    # ("shared QObject was deleted directly", then a segfault, seen after a batch export).
    shiboken6.delete(window)
    return code
