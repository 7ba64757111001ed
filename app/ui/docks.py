"""The side panel (brush, layers, engine) and the status bar widgets.

Widgets only: they emit what the user changed; the main window decides what it means.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QStatusBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.feather import DEFAULT_FEATHER_PX
from app.core.maskops import DEFAULT_STEP_PX
from app.core.names import DEVICE_CHOICES, EDITOR_ENGINES, engine_label, engine_word
from app.ui.tools import MAX_SIZE, MIN_SIZE

ATTENTION_HINT = "Click a filled pixel to see which pixels it borrowed from."


def _action_check(action: QAction, text: str) -> QCheckBox:
    """A checkbox that mirrors a checkable action both ways."""
    box = QCheckBox(text)
    box.setChecked(action.isChecked())
    box.toggled.connect(action.setChecked)
    action.toggled.connect(box.setChecked)
    return box


class PanelScroll(QScrollArea):
    """The side panel in a vertical scroll area, as wide as the panel wants to be.

    When the panel gets taller (the attention viewer's caption and legend) or the screen is
    short, it scrolls instead of making the main window grow; its width always follows the
    panel's own hints, so nothing in it is squeezed, and the scrollbar's room is always
    there, so nothing moves sideways when the panel starts or stops needing it.
    """

    def __init__(self, panel: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidget(panel)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # its room is kept (see _extra): a bar that came and went as the attention viewer's
        # legend did moved every control sideways
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        panel.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the panel's hints changed: the dock asks ours again
        return super().eventFilter(watched, event)

    def _extra(self) -> int:
        return self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()

    def minimumSizeHint(self) -> QSize:
        return QSize(self.widget().minimumSizeHint().width() + self._extra(), 120)

    def sizeHint(self) -> QSize:
        hint = self.widget().sizeHint()
        return QSize(hint.width() + self._extra(), hint.height())


class SidePanel(QWidget):
    brush_size_changed = Signal(int)
    layer_chosen = Signal(str)  # "mask", "sketch" or "protect": what the eraser erases
    overlay_changed = Signal(QColor, float)  # mask colour, opacity
    engine_chosen = Signal(str, str)  # engine, device
    typed = Signal()  # Return in a number box: the keys go back to the photo

    def __init__(self, actions, engine: str, device: str, parent: QWidget | None = None) -> None:
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
        self.sketch_width.setToolTip("Sketch strokes are as wide, for the photo's size, as the strokes the sketch-following "
                                      "network learnt from; the brush size does not change them")
        form.addRow("Sketch pen", self.sketch_width)
        layout.addWidget(brush)

        layers = QGroupBox("Layers")
        lay = QVBoxLayout(layers)
        row = QHBoxLayout()
        self.layer_radios: dict[str, QRadioButton] = {}
        group = QButtonGroup(self)
        for name, text in (("mask", "Mask"), ("sketch", "Sketch"), ("protect", "Protect")):
            r = QRadioButton(text)
            r.setToolTip(f"Active layer: the eraser erases the {name}")
            r.toggled.connect(lambda on, n=name: on and self.layer_chosen.emit(n))
            group.addButton(r)
            row.addWidget(r)
            self.layer_radios[name] = r
        self.mask_radio, self.sketch_radio = self.layer_radios["mask"], self.layer_radios["sketch"]
        self.mask_radio.setChecked(True)
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
        lay.addWidget(_action_check(actions.show_protect, "Show protect"))
        buttons = QHBoxLayout()
        for name in ("clear_mask", "clear_sketch", "clear_protect", "restore_mask"):
            b = QToolButton()
            b.setDefaultAction(getattr(actions, name))
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        layout.addWidget(layers)
        layout.addWidget(self._edges_box(actions))
        self._return_to_photo(self.size_spin, self.step_spin, self.feather_spin)

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
        fill.setEnabled(actions.fill.isEnabled())  # no photo, no fill: the button follows the action
        actions.fill.changed.connect(lambda: fill.setEnabled(actions.fill.isEnabled()))
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

    def set_devices(self, devices: tuple[str, ...]) -> None:
        """List only the devices that can run here (a CPU-only machine offered CUDA and MPS,
        which could only fail); the current choice stays listed, so a setting made where a
        GPU was is kept and its notice says why the CPU runs instead."""
        if not devices:
            return
        combo = self.device_combo
        current = combo.currentText()
        items = list(devices) + ([current] if current not in devices else [])
        if items == [combo.itemText(i) for i in range(combo.count())]:
            return
        combo.blockSignals(True)  # the same choice, listed anew: no engine reload
        combo.clear()
        combo.addItems(items)
        combo.setCurrentText(current)
        combo.blockSignals(False)

    def _edges_box(self, actions) -> QGroupBox:
        box = QGroupBox("Mask edges")
        form = QFormLayout(box)
        self.step_spin = QSpinBox()
        self.step_spin.setRange(1, 500)
        self.step_spin.setValue(DEFAULT_STEP_PX)
        self.step_spin.setSuffix(" px")
        self.step_spin.setToolTip("How far Grow mask (Alt+]) and Shrink mask (Alt+[) move the edge, "
                                  "in photo pixels (screen pixels at 100 %)")
        row = QHBoxLayout()
        row.addWidget(self.step_spin)
        for name in ("grow_mask", "shrink_mask", "invert_mask"):
            b = QToolButton()
            b.setDefaultAction(getattr(actions, name))
            row.addWidget(b)
        form.addRow("Step", row)
        self.feather_check = QCheckBox("Feather")
        self.feather_check.setChecked(True)
        self.feather_check.setToolTip("Blend the fill's edge softly into the photo")
        self.feather_spin = QSpinBox()
        self.feather_spin.setRange(1, 100)
        self.feather_spin.setValue(DEFAULT_FEATHER_PX)
        self.feather_spin.setSuffix(" px")
        self.feather_spin.setToolTip("Width of the soft edge around the hole (python main.py inpaint --feather PX)")
        self.feather_check.toggled.connect(self.feather_spin.setEnabled)
        form.addRow(self.feather_check, self.feather_spin)
        return box

    def _return_to_photo(self, *spins: QSpinBox) -> None:
        """Return in any of ``spins`` ends the typing: the tool keys (B, R, S...) and a drag
        act on the photo again instead of going into the box."""
        for spin in spins:
            spin.lineEdit().returnPressed.connect(self.typed)

    def grow_step(self) -> int:
        return int(self.step_spin.value())

    def feather_px(self) -> int:
        """The feather width a fill uses; 0 when feathering is off."""
        return int(self.feather_spin.value()) if self.feather_check.isChecked() else 0

    def set_mask_edges(self, step: int, feather: int) -> None:
        """Restore the grow step and the feather (0 = off, the width kept for when it is on)."""
        self.step_spin.setValue(step)
        self.feather_check.setChecked(feather > 0)
        if feather > 0:
            self.feather_spin.setValue(feather)

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
        self.layer_radios[layer].setChecked(True)

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


ELAPSED_FROM = 3.0  # s: quicker work needs no clock beside its bar


class StatusWidgets:
    """Permanent status-bar fields: busy indicator, engine, device, last fill, zoom."""

    def __init__(self, bar: QStatusBar) -> None:
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: a forward pass reports no progress
        self.busy.setMaximumWidth(110)
        self.busy.setMaximumHeight(14)
        self.busy.hide()
        # how long the work has run, beside the bar: a large hole's patch search is one part
        # of a minute or more, with nothing else moving (shown after a few seconds)
        self.elapsed = QLabel("")
        self.elapsed.setToolTip("How long the fill (or the engine's loading) has been running")
        self.elapsed.hide()
        self.engine = QLabel("Engine: loading…")
        self.device = QLabel("Device: –")
        self.last_fill = QLabel("Last fill: –")
        self.zoom = QLabel("–")  # no photo, no zoom
        self.pos = QLabel("")
        for w in (self.busy, self.elapsed, self.pos, self.zoom, self.engine, self.device, self.last_fill):
            if isinstance(w, QLabel):  # never squeezed: a long status message gives way instead
                w.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
            bar.addPermanentWidget(w)

    def show_elapsed(self, seconds: float | None) -> None:
        """The running work's time as m:ss from ELAPSED_FROM seconds on; None hides it."""
        if seconds is None or seconds < ELAPSED_FROM:
            self.elapsed.hide()
            return
        whole = int(seconds)
        self.elapsed.setText(f"{whole // 60}:{whole % 60:02d}")
        self.elapsed.show()

    def set_engine(self, name: str, device: str) -> None:
        # the label without its remark ("Auto", not "Auto (best measured)"): the engine list
        # says that, and the status line needs the room for a fill's news
        self.engine.setText(f"Engine: {engine_word(name)}")
        pretty = {"cuda": "CUDA", "mps": "MPS", "cpu": "CPU"}
        self.device.setText(f"Device: {pretty.get(device.split(':')[0], device)}")
