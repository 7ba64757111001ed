"""Every QAction of the main window: icon, text, tooltip with its key, shortcut.

The window wires ``triggered`` to behaviour; keeping the table here keeps the window class
about behaviour only and makes the shortcuts easy to review in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import qtawesome as qta
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QWidget

Std = QKeySequence.StandardKey

# name: (icon or "", text, shortcuts, tooltip)
SPECS: dict[str, tuple[str, str, tuple[str | QKeySequence.StandardKey, ...], str]] = {
    "open": ("mdi6.folder-open", "&Open…", ("Ctrl+O",), "Open a photo"),
    "paste": ("mdi6.content-paste", "&Paste image", ("Ctrl+V",),
              "Open the image on the clipboard as a new, untitled photo"),
    "copy": ("mdi6.content-copy", "&Copy result", ("Ctrl+C",), "Copy the current result to the clipboard"),
    "clear_recent": ("", "Clear recent files", (), "Empty the Open recent list"),
    "save": ("mdi6.content-save", "&Save", ("Ctrl+S",), "Save the result (never over the original)"),
    "save_as": ("mdi6.content-save-edit", "Save &As…", ("Ctrl+Shift+S",), "Save the result under a new name"),
    "import_mask": ("mdi6.import", "Import mask…", (), "Load a mask PNG (white = hole)"),
    "export_mask": ("mdi6.export", "Export mask…", (), "Save the mask as a PNG"),
    "import_sketch": ("mdi6.import", "Import sketch…", (), "Load a sketch PNG (white strokes, or any on transparency)"),
    "export_sketch": ("mdi6.export", "Export sketch…", (), "Save the sketch as a PNG"),
    "import_protect": ("mdi6.import", "Import protect…", (),
                       "Load a protect mask PNG (white = areas no fill may copy from)"),
    "export_protect": ("mdi6.export", "Export protect…", (), "Save the protected areas as a PNG"),
    "batch": ("mdi6.image-multiple", "&Batch export…", (), "Fill a folder of photos with their masks"),
    "quit": ("", "&Quit", ("Ctrl+Q",), "Quit Tempera"),
    "undo": ("mdi6.undo", "&Undo", ("Ctrl+Z",), "Undo (Ctrl+Z)"),
    "redo": ("mdi6.redo", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo (Ctrl+Shift+Z, Ctrl+Y)"),
    "clear_mask": ("mdi6.selection-remove", "Clear mask", (), "Remove the whole mask"),
    "clear_sketch": ("mdi6.pencil-remove", "Clear sketch", (), "Remove the whole sketch"),
    "clear_protect": ("mdi6.shield-remove-outline", "Clear protect", (), "Remove every protected area (P)"),
    "restore_mask": ("mdi6.restore", "Restore last mask", ("Ctrl+Shift+M",),
                     "Bring back the mask and sketch of the last fill"),
    "variation_1": ("", "Use variation 1", ("1",), "Show the last fill's first candidate (1)"),
    "variation_2": ("", "Use variation 2", ("2",), "Show the last fill's second candidate (2)"),
    "variation_3": ("", "Use variation 3", ("3",), "Show the last fill's third candidate (3)"),
    "tool_mask": ("mdi6.brush", "Mask brush", ("B",), "Mask brush (B): paint the hole to fill"),
    "tool_sketch": ("mdi6.pencil", "Sketch pen", ("S",),
                    "Sketch pen (S): draw the edge you want across the hole, side to side; "
                    "the parts it separates are each filled from their own side"),
    "tool_eraser": ("mdi6.eraser", "Eraser", ("E",), "Eraser (E): erases the active layer (mask, sketch or protect)"),
    "tool_rect": ("mdi6.vector-square", "Rectangle mask", ("R",), "Rectangle mask (R); Alt subtracts"),
    "tool_lasso": ("mdi6.lasso", "Lasso mask", ("L",), "Lasso mask (L); Alt subtracts"),
    "tool_object": ("mdi6.selection-search", "Object selection", ("W",),
                    "Object selection (W): drag a box around an object, or click it; Alt subtracts"),
    "tool_protect": ("mdi6.shield-outline", "Protect brush", ("P",),
                     "Protect brush (P): paint areas no fill may copy from"),
    "grow_mask": ("mdi6.arrow-expand-all", "Grow mask", ("Alt+]",),
                  "Grow the mask by the step set in the panel (Alt+])"),
    "shrink_mask": ("mdi6.arrow-collapse-all", "Shrink mask", ("Alt+[",),
                    "Shrink the mask by the step set in the panel (Alt+[)"),
    "invert_mask": ("mdi6.select-inverse", "Invert mask", ("Ctrl+Shift+I",), "Invert the mask (Ctrl+Shift+I)"),
    "preferences": ("mdi6.cog-outline", "&Preferences…", ("Ctrl+,",),
                    "Undo history, recent files, save quality, sketch colour and the hole around strokes"),
    "smaller": ("", "Smaller brush", ("[",), "Smaller brush ([)"),
    "bigger": ("", "Bigger brush", ("]",), "Bigger brush (])"),
    "fill": ("mdi6.auto-fix", "&Fill", ("Ctrl+Return", "Ctrl+Enter"), "Fill the hole (Ctrl+Return)"),
    "cancel": ("mdi6.stop-circle-outline", "Cancel fill", ("Esc",),
               "Cancel the running fill (Esc); its result is dropped and its work stops (a large hole's search "
               "at once, a smaller part when it ends)"),
    "attention": ("mdi6.target", "Attention viewer", ("A",),
                  "Attention viewer (A): click a filled pixel to see where it borrowed from"),
    "temperature": ("mdi6.thermometer", "Show temperature", ("T",),
                    "Learned temperature in the attention viewer (turns the viewer on): click a filled pixel "
                    "to see that fill's map"),
    "zoom_in": ("mdi6.magnify-plus-outline", "Zoom in", ("Ctrl+=", "Ctrl++"), "Zoom in (Ctrl+wheel)"),
    "zoom_out": ("mdi6.magnify-minus-outline", "Zoom out", ("Ctrl+-",), "Zoom out (Ctrl+wheel)"),
    "fit": ("mdi6.fit-to-screen", "Fit", ("Ctrl+0",), "Fit the photo in the window (Ctrl+0)"),
    "actual": ("mdi6.numeric-1-box-outline", "100 %", ("Ctrl+1",), "Actual pixels (Ctrl+1)"),
    "split": ("mdi6.compare-horizontal", "Before/after split", ("\\",),
              "Before/after split view (\\): drag the line; left the original, right the result"),
    "show_mask": ("mdi6.eye", "Show mask", ("Shift+M",), "Show or hide the mask overlay (the hole)"),
    "show_protect": ("mdi6.shield-outline", "Show protect", ("Shift+P",),
                     "Show or hide the protected areas (green)"),
    "show_sketch": ("mdi6.eye-outline", "Show sketch", ("Shift+K",), "Show or hide the sketch layer"),
    "show_panel": ("mdi6.dock-right", "Side panel", ("F7",),
                   "Show or hide the side panel (F7): more room for the photo on a small screen"),
    "shortcuts": ("mdi6.keyboard-outline", "&Keyboard shortcuts", ("F1",), "Every key and gesture of the editor"),
    "about": ("", "&About Tempera", (), "Version, model and where the results are"),
}
CHECKABLE = {"attention", "temperature", "show_mask", "show_protect", "show_sketch", "show_panel", "split",
             "tool_mask", "tool_sketch", "tool_eraser", "tool_rect", "tool_lasso", "tool_object", "tool_protect"}
TOOL_ACTIONS = {"tool_mask": "mask", "tool_sketch": "sketch", "tool_eraser": "eraser",
                "tool_rect": "rect", "tool_lasso": "lasso", "tool_object": "object", "tool_protect": "protect"}


@dataclass
class Actions:
    by_name: dict[str, QAction]
    tools: QActionGroup

    def __getattr__(self, name: str) -> QAction:
        try:
            return self.__dict__["by_name"][name]
        except KeyError as exc:
            raise AttributeError(name) from exc


def shortcut_text(keys: tuple) -> str:
    return ", ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in keys)


def create_actions(parent: QWidget) -> Actions:
    by_name: dict[str, QAction] = {}
    for name, (icon, text, keys, tip) in SPECS.items():
        action = QAction(text, parent)
        if icon:
            action.setIcon(qta.icon(icon, color="#dddddd", color_disabled="#666666"))
        if keys:
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.setToolTip(tip if not keys or "(" in tip else f"{tip} ({shortcut_text(keys)})")
        action.setStatusTip(tip)
        action.setCheckable(name in CHECKABLE)
        parent.addAction(action)  # shortcuts work even when the action is in no toolbar
        by_name[name] = action
    by_name["show_mask"].setChecked(True)
    by_name["show_sketch"].setChecked(True)
    by_name["show_protect"].setChecked(True)
    by_name["show_panel"].setChecked(True)
    group = QActionGroup(parent)
    for name in TOOL_ACTIONS:
        group.addAction(by_name[name])
    by_name["tool_mask"].setChecked(True)
    return Actions(by_name, group)
