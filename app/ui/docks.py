"""The side panel (brush, layers, engine) and the status bar widgets.

Widgets only: they emit what the user changed; the main window decides what it means.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QColorDialog, QComboBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QProgressBar, QPushButton, QRadioButton, QSlider,
                               QSpinBox, QStatusBar, QToolButton, QVBoxLayout, QWidget)

from app.core.names import DEVICE_CHOICES, EDITOR_ENGINES, engine_label
from app.ui.tools import MAX_SIZE, MIN_SIZE

ATTENTION_HINT = "Click a filled pixel to see which pixels it borrowed from."


def _action_check(action: QAction, text: str) -> QCheckBox:
    """A checkbox that mirrors a checkable action both ways."""
    box = QCheckBox(text)
    box.setChecked(action.isChecked())
    box.toggled.connect(action.setChecked)
    action.toggled.connect(box.setChecked)
    return box


class SidePanel(QWidget):
    brush_size_changed = Signal(int)
    layer_chosen = Signal(str)  # "mask" or "sketch": what the eraser erases
    overlay_changed = Signal(QColor, float)  # mask colour, opacity
    engine_chosen = Signal(str, str)  # engine, device

    def __init__(self, actions, engine: str, device: str, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.setMinimumWidth(230)
        layout = QVBoxLayout(self)

        brush = QGroupBox("Brush")
        form = QFormLayout(brush)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(MIN_SIZE, MAX_SIZE)
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Brush diameter in image pixels ([ and ])")
        self.size_spin.valueChanged.connect(self.brush_size_changed)
        form.addRow("Size", self.size_spin)
        self.sketch_width = QLabel()
        self.sketch_width.setToolTip("Sketch strokes use the width the guided model was trained with")
        form.addRow("Sketch pen", self.sketch_width)
        layout.addWidget(brush)

        layers = QGroupBox("Layers")
        lay = QVBoxLayout(layers)
        row = QHBoxLayout()
        self.mask_radio, self.sketch_radio = QRadioButton("Mask"), QRadioButton("Sketch")
        self.mask_radio.setToolTip("Active layer: the eraser erases the mask")
        self.sketch_radio.setToolTip("Active layer: the eraser erases the sketch")
        group = QButtonGroup(self)
        for r in (self.mask_radio, self.sketch_radio):
            group.addButton(r)
            row.addWidget(r)
        self.mask_radio.setChecked(True)
        self.mask_radio.toggled.connect(lambda on: on and self.layer_chosen.emit("mask"))
        self.sketch_radio.toggled.connect(lambda on: on and self.layer_chosen.emit("sketch"))
        lay.addWidget(QLabel("Eraser works on:"))
        lay.addLayout(row)
        lay.addWidget(_action_check(actions.show_mask, "Show mask"))
        row = QHBoxLayout()
        self.color_button = QToolButton()
        self.color_button.setToolTip("Mask overlay colour")
        self.color_button.clicked.connect(self._pick_color)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(5, 100)
        self.opacity.setToolTip("Mask overlay opacity")
        self.opacity.valueChanged.connect(lambda _v: self._emit_overlay())
        row.addWidget(self.color_button)
        row.addWidget(self.opacity)
        lay.addLayout(row)
        lay.addWidget(_action_check(actions.show_sketch, "Show sketch"))
        buttons = QHBoxLayout()
        for name in ("clear_mask", "clear_sketch", "restore_mask"):
            b = QToolButton()
            b.setDefaultAction(getattr(actions, name))
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        layout.addWidget(layers)

        engine_box = QGroupBox("Engine")
        form = QFormLayout(engine_box)
        self.engine_combo = QComboBox()
        for name in EDITOR_ENGINES:
            self.engine_combo.addItem(engine_label(name), name)
        self.engine_combo.setCurrentIndex(max(0, self.engine_combo.findData(engine)))
        self.engine_combo.setToolTip("Auto uses the network only where its measured results beat the "
                                     "classical fill; the (fast) engines fill at once, without a network")
        self.device_combo = QComboBox()
        self.device_combo.addItems(list(DEVICE_CHOICES))
        self.device_combo.setCurrentText(device)
        self.device_combo.setToolTip("auto: CUDA, then Apple MPS, then the CPU")
        self.engine_combo.currentIndexChanged.connect(self._emit_engine)
        self.device_combo.currentTextChanged.connect(self._emit_engine)
        form.addRow("Engine", self.engine_combo)
        form.addRow("Device", self.device_combo)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #f0c674;")
        form.addRow(self.notice)
        fill = QPushButton(actions.fill.icon(), "Fill  (Ctrl+Return)")
        fill.setToolTip(actions.fill.toolTip())
        fill.clicked.connect(actions.fill.trigger)
        form.addRow(fill)
        layout.addWidget(engine_box)

        attention = QGroupBox("Attention viewer")
        lay = QVBoxLayout(attention)
        lay.addWidget(_action_check(actions.attention, "Attention viewer (A)"))
        lay.addWidget(_action_check(actions.temperature, "Learned temperature (T)"))
        self.attention_info = QLabel(ATTENTION_HINT)
        self.attention_info.setWordWrap(True)
        lay.addWidget(self.attention_info)
        layout.addWidget(attention)
        layout.addStretch(1)
        self._color = QColor("#ff2d55")

    def set_overlay(self, color: QColor, opacity: float) -> None:
        self._color = QColor(color)
        self.color_button.setStyleSheet(f"background: {self._color.name()}; min-width: 22px;")
        self.opacity.blockSignals(True)
        self.opacity.setValue(round(opacity * 100))
        self.opacity.blockSignals(False)

    def set_brush_size(self, size: int) -> None:
        self.size_spin.blockSignals(True)
        self.size_spin.setValue(size)
        self.size_spin.blockSignals(False)

    def set_active_layer(self, layer: str) -> None:
        (self.mask_radio if layer == "mask" else self.sketch_radio).setChecked(True)

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(self._color, self, "Mask colour")
        if color.isValid():
            self._color = color
            self.set_overlay(color, self.opacity.value() / 100)
            self._emit_overlay()

    def _emit_overlay(self) -> None:
        self.overlay_changed.emit(self._color, self.opacity.value() / 100)

    def _emit_engine(self) -> None:
        self.engine_chosen.emit(self.engine_combo.currentData(), self.device_combo.currentText())


class StatusWidgets:
    """Permanent status-bar fields: busy indicator, engine, device, last fill, zoom."""

    def __init__(self, bar: QStatusBar) -> None:
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: a forward pass reports no progress
        self.busy.setMaximumWidth(110)
        self.busy.setMaximumHeight(14)
        self.busy.hide()
        self.engine = QLabel("Engine: loading…")
        self.device = QLabel("Device: –")
        self.last_fill = QLabel("Last fill: –")
        self.zoom = QLabel("100 %")
        self.pos = QLabel("")
        for w in (self.busy, self.pos, self.zoom, self.engine, self.device, self.last_fill):
            bar.addPermanentWidget(w)

    def set_engine(self, name: str, device: str) -> None:
        self.engine.setText(f"Engine: {engine_label(name)}")
        pretty = {"cuda": "CUDA", "mps": "MPS", "cpu": "CPU"}
        self.device.setText(f"Device: {pretty.get(device.split(':')[0], device)}")
