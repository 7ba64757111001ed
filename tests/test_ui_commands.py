"""Undo commands wrap numpy diffs and change the document only."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtGui import QUndoStack

from app.core.document import Document
from app.ui.commands import DiffCommand, FillCommand, replace_layers


def test_fill_command_undo_redo_and_last_mask(qapp) -> None:
    doc = Document(np.zeros((20, 30, 3), np.uint8))
    stack = QUndoStack()
    holes = []
    for k in range(2):
        doc.mask[:] = False
        doc.mask[k * 5 : k * 5 + 4, 2:6] = True
        doc.sketch[k * 5 + 1, 2:6] = 255
        holes.append(doc.mask.copy())
        result = doc.image.copy()
        result[doc.mask] = 50 + k
        stack.push(FillCommand(doc, result, doc.mask.copy(), doc.sketch.copy(), "t"))
        assert not doc.mask.any() and not doc.sketch.any() and np.array_equal(doc.last_mask, holes[k])
    assert doc.fills == 2
    stack.undo()
    assert np.array_equal(doc.last_mask, holes[0]) and np.array_equal(doc.mask, holes[1])
    assert doc.sketch[6, 3] == 255 and doc.fills == 1
    stack.undo()
    assert doc.last_mask is None and not doc.image.any() and doc.fills == 0
    stack.redo()
    stack.redo()
    assert np.array_equal(doc.last_mask, holes[1]) and doc.image[5, 2, 0] == 51


def test_replace_layers_is_one_undoable_step(qapp) -> None:
    doc = Document(np.zeros((10, 12, 3), np.uint8))
    seen: list[str] = []
    doc.add_listener(lambda layer, box: seen.append(layer))
    stack = QUndoStack()
    mask = np.zeros((10, 12), bool)
    mask[2:4, 3:9] = True
    command = replace_layers(doc, "Import mask", mask=mask)
    assert isinstance(command, DiffCommand)
    stack.push(command)
    assert np.array_equal(doc.mask, mask) and seen == ["mask"]
    assert replace_layers(doc, "again", mask=mask) is None  # no change, no step
    stack.undo()
    assert not doc.mask.any()


def test_help_menu_lists_every_shortcut_and_about(qtbot, monkeypatch) -> None:
    """Help > Keyboard shortcuts (F1) is made from the actions' own keys; About names the version."""
    from PySide6.QtWidgets import QMainWindow

    from app import __version__
    from app.ui import help as help_dialogs
    from app.ui.actions import SPECS, create_actions
    from app.ui.menus import MENUS, build_menus

    rows = dict(help_dialogs.shortcut_rows())
    assert rows["F1"].startswith("Keyboard shortcuts") and rows["Ctrl+Return, Ctrl+Enter"] == "Fill the hole"
    assert rows["1"] == "Use variation 1: show the last fill's first candidate"  # no "(1)" left in it
    assert sum(1 for spec in SPECS.values() if spec[2]) + len(help_dialogs.GESTURES) == len(rows)
    assert "Alt + drag" in rows and "Tab (hold)" in rows
    window = QMainWindow()
    qtbot.addWidget(window)
    build_menus(window, create_actions(window))
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles[-1] == "&Help" and MENUS["&Help"] == ("shortcuts", None, "about")
    dialog = help_dialogs.show_shortcuts(window)
    qtbot.addWidget(dialog)
    assert "Fill the hole" in dialog.findChild(help_dialogs.QTextBrowser).toPlainText()
    assert __version__ in help_dialogs.about_text("Auto", "CPU") and "Auto on CPU" in help_dialogs.about_text("Auto", "CPU")
    # where this installation keeps them, in full (the editor may be started from anywhere)
    root = Path(help_dialogs.__file__).resolve().parents[2]
    assert f"Measured results: {root / 'docs' / 'RESULTS.md'}" in help_dialogs.about_text(None, None)
    from app.inference.engines import default_weights_dir

    assert f"Model cards: {default_weights_dir()}" in help_dialogs.about_text(None, None)
