"""Help > Keyboard shortcuts and Help > About: what the editor's keys do, and what it runs.

The shortcut list is made from the actions' own table (actions.py), so it cannot drift from
the keys that work, plus the gestures that are not actions (modifier keys, mouse).
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox, QTextBrowser, QVBoxLayout, QWidget

from app import __version__
from app.ui.actions import SPECS, shortcut_text

# keys and gestures that are not QActions (canvas and tool behaviour)
GESTURES: tuple[tuple[str, str], ...] = (
    ("Alt + drag", "with Rectangle, Lasso or Object selection: subtract from the mask"),
    ("Tab (hold)", "show the original photo"),
    ("Space + drag, middle button", "pan"),
    ("Ctrl + wheel", "zoom at the cursor"),
    ("Wheel, scrollbars", "scroll"),
    ("Drag a photo onto the window", "open it"),
    ("Click a filled pixel (attention viewer on)", "where that pixel borrowed from"),
)


def shortcut_rows() -> list[tuple[str, str]]:
    """(keys, what they do) for every action with a shortcut, then the gestures."""
    rows = []
    for _icon, text, keys, tip in SPECS.values():
        if not keys:
            continue
        shown = shortcut_text(keys)
        what = text.replace("&", "").rstrip("…")
        for group in shown, *(shortcut_text((k,)) for k in keys):  # the tooltip's "(key)": the left column here
            tip = tip.replace(f" ({group})", "").replace(f"({group})", "")
        if tip.startswith(what):  # "Fill the hole", "Mask brush: paint the hole to fill"
            what = tip
        elif tip:  # "Use variation 1: show the last fill's first candidate"
            what = f"{what}: {tip[0].lower()}{tip[1:]}"
        rows.append((shown, what))
    return rows + list(GESTURES)


def shortcuts_html() -> str:
    cells = "".join(f"<tr><td width='30%' style='padding-right:12px'><b>{html.escape(k)}</b></td>"
                    f"<td>{html.escape(v)}</td></tr>" for k, v in shortcut_rows())
    return f"<h3>Keyboard shortcuts</h3><table width='100%' cellspacing='2'>{cells}</table>"


def show_shortcuts(parent: QWidget | None) -> QDialog:
    dialog = QDialog(parent)
    dialog.setWindowTitle("Tempera: keyboard shortcuts")
    layout = QVBoxLayout(dialog)
    text = QTextBrowser(dialog)
    text.setHtml(shortcuts_html())
    layout.addWidget(text)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=dialog)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    dialog.resize(640, 560)
    dialog.show()
    return dialog


def where_results() -> str:
    """Where this installation keeps its model cards and measured results (full paths: the
    editor may have been started from anywhere)."""
    from app.inference.engines import default_weights_dir

    weights = default_weights_dir()
    results = Path(__file__).resolve().parents[2] / "docs" / "RESULTS.md"  # beside app/ in a checkout
    found = [f"Model cards: {weights}{os.sep}*.md" if weights.is_dir() else None,
             f"Measured results: {results}" if results.is_file() else None]
    said = [html.escape(x) for x in found if x]
    return "<br>".join(said) if said else "No model cards are installed."


def about_text(engine: str | None, device: str | None) -> str:
    lines = [f"<b>Tempera {html.escape(__version__)}</b>: inpainting for photos, on your own computer.",
             "The network is the project's implementation of MTSA (learned-temperature multi-head masked "
             "self-attention, arXiv 2302.06130); texture is copied from the photo itself with PatchMatch.",
             where_results()]
    if engine:
        lines.append(f"Engine now: {html.escape(engine)} on {html.escape(device or 'CPU')}.")
    return "<br><br>".join(lines)


def show_about(parent: QWidget | None, engine: str | None = None, device: str | None = None) -> None:
    QMessageBox.about(parent, "About Tempera", about_text(engine, device))
