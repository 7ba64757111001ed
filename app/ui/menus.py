"""Where each action appears: the menu bar and the toolbar, in order (None = a separator).

The actions themselves (text, icon, shortcut) are in actions.py; the window wires them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar

from app.ui.actions import TOOL_ACTIONS, Actions

MENUS: dict[str, tuple[str | None, ...]] = {
    "&File": ("open", "recent", "paste", "copy", None, "save", "save_as", None, "import_mask", "export_mask",
              "import_sketch", "export_sketch", "import_protect", "export_protect", None, "batch", None, "quit"),
    "&Edit": ("undo", "redo", None, "variation_1", "variation_2", "variation_3", None,
              "clear_mask", "clear_sketch", "clear_protect", "restore_mask", None,
              "grow_mask", "shrink_mask", "invert_mask", None, "smaller", "bigger", None, "preferences"),
    "&Tools": (*TOOL_ACTIONS, None, "fill", "cancel", None, "attention", "temperature"),
    "&View": ("zoom_in", "zoom_out", "fit", "actual", None, "split", None, "show_mask", "show_protect", "show_sketch", None,
              "show_panel"),
    "&Help": ("shortcuts", None, "about"),
}
TOOLBAR = ("open", "save", None, *TOOL_ACTIONS, None, "undo", "redo", None, "fill", "cancel",
           None, "attention", "split", None, "fit", "actual")


def build_menus(window: QMainWindow, actions: Actions) -> QMenu:
    """Fill the window's menu bar and toolbar; returns the (empty) Open recent submenu."""
    recent = QMenu("Open &recent", window)
    for title, names in MENUS.items():
        menu = window.menuBar().addMenu(title)
        for name in names:
            if name is None:
                menu.addSeparator()
            elif name == "recent":
                menu.addMenu(recent)
            else:
                menu.addAction(getattr(actions, name))
    bar = QToolBar("Tools", window)
    bar.setObjectName("tools")
    bar.setMovable(False)
    for name in TOOLBAR:
        bar.addSeparator() if name is None else bar.addAction(getattr(actions, name))
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    return recent
