"""Edit > Preferences: the settings that have no place in the side panel, in one dialog.

The panel already holds what changes from photo to photo (brush, mask colour, engine,
feather); this dialog holds the rest: how many undo steps, how many recent files, the
quality a JPEG or WebP save offers first, the sketch's colour and how much hole a stroke
drawn outside the hole makes. The values are checked by the same rules as the settings
file's (``app.core.settings.VALID``) through the widgets' ranges, and saved at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.core.settings import Settings


@dataclass
class Choices:
    """What the dialog sets (the fields of Settings of the same names)."""

    undo_limit: int
    recent_max: int
    save_quality: int
    sketch_color: str
    sketch_hole_margin: int

    @classmethod
    def of(cls, settings: Settings) -> Choices:
        return cls(settings.undo_limit, settings.recent_max, settings.save_quality, settings.sketch_color,
                   settings.sketch_hole_margin)


def _spin(lo: int, hi: int, value: int, suffix: str, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(lo, hi)
    spin.setValue(value)
    spin.setSuffix(suffix)
    spin.setToolTip(tip)
    return spin


class PreferencesDialog(QDialog):
    def __init__(self, parent: QWidget | None, choices: Choices) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        form = QFormLayout(self)
        self.undo = _spin(1, 1000, choices.undo_limit, "",
                          "How many edits Ctrl+Z can take back; each fill keeps only the pixels it changed")
        self.recent = _spin(0, 50, choices.recent_max, "", "How many files File > Open recent lists")
        self.quality = _spin(1, 100, choices.save_quality, "",
                             "The quality a JPEG or WebP save offers first (a JPEG from a JPEG offers the "
                             "original's own first)")
        self.margin = _spin(0, 200, choices.sketch_hole_margin, " px",
                            "A sketch stroke drawn outside the hole grows the hole by this much on each side "
                            "of it, so the fill has room to follow the stroke there")
        self._color = QColor(choices.sketch_color)
        self.color = QPushButton()
        self.color.setToolTip("The colour the sketch strokes are shown in (they are saved white on black)")
        self.color.clicked.connect(self._pick_color)
        self._show_color()
        form.addRow("Undo steps kept", self.undo)
        form.addRow("Recent files listed", self.recent)
        form.addRow("JPEG / WebP quality", self.quality)
        form.addRow("Sketch colour", self.color)
        form.addRow("Hole around strokes", self.margin)
        note = QLabel("A new undo history length applies from the next photo opened.")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _show_color(self) -> None:
        self.color.setText(self._color.name())
        c = self._color  # dark words on a light colour: by how light it looks, not its HSL lightness
        light = 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue() > 140
        self.color.setStyleSheet(f"background: {c.name()}; color: {'black' if light else 'white'};")

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(self._color, self, "Sketch colour")
        if color.isValid():
            self._color = color
            self._show_color()

    def choices(self) -> Choices:
        return Choices(self.undo.value(), self.recent.value(), self.quality.value(), self._color.name(),
                       self.margin.value())


def ask_preferences(parent: QWidget | None, current: Choices) -> Choices | None:
    """The user's choices, or None when the dialog was cancelled."""
    dialog = PreferencesDialog(parent, current)
    chosen = dialog.choices() if dialog.exec() == QDialog.DialogCode.Accepted else None
    dialog.deleteLater()
    return chosen
