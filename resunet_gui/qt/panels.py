"""Side panels: view settings (opacity, toggles, window/level) and the suggestion controls."""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from resunet_gui.qt.window_level import PresetBox

WL_STEPS = 1000


class ViewPanel(QGroupBox):
    """Overlay opacity and visibility; window/level sliders shown only for 16-bit images."""

    opacityChanged = Signal(float)
    labelsToggled = Signal(bool)
    suggestionToggled = Signal(bool)
    uncertaintyToggled = Signal(bool)
    outlineToggled = Signal(bool)
    windowChanged = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("View", parent)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.valueChanged.connect(lambda v: self.opacityChanged.emit(v / 100.0))
        self.show_labels = QCheckBox("Labels")
        self.show_labels.setChecked(True)
        self.show_labels.toggled.connect(self.labelsToggled)
        self.show_suggestion = QCheckBox("Suggestion")
        self.show_suggestion.setChecked(True)
        self.show_suggestion.toggled.connect(self.suggestionToggled)
        self.show_uncertainty = QCheckBox("Uncertainty")
        self.show_uncertainty.toggled.connect(self.uncertaintyToggled)
        self.outline = QCheckBox("Outline")
        self.outline.setToolTip("Draw labels as contours so the image under them stays visible")
        self.outline.toggled.connect(self.outlineToggled)
        toggles = QHBoxLayout()
        for box in (self.show_labels, self.show_suggestion, self.show_uncertainty, self.outline):
            toggles.addWidget(box)
        self.level_low = QSlider(Qt.Orientation.Horizontal)
        self.level_high = QSlider(Qt.Orientation.Horizontal)
        for s in (self.level_low, self.level_high):
            s.setRange(0, WL_STEPS)
            s.valueChanged.connect(self._wl_moved)
        self.level_box = QWidget()
        wl = QFormLayout(self.level_box)
        wl.setContentsMargins(0, 0, 0, 0)
        wl.addRow("Black", self.level_low)
        wl.addRow("White", self.level_high)
        self.presets = PresetBox()
        self.presets.presetChosen.connect(self.windowChanged)
        wl.addRow("Window", self.presets)
        self.level_box.setVisible(False)
        self._range = (0.0, 1.0)
        self._wl_timer = QTimer(self)  # coalesce slider drags: one recompute per 60 ms
        self._wl_timer.setSingleShot(True)
        self._wl_timer.setInterval(60)
        self._wl_timer.timeout.connect(self._emit_window)
        form = QFormLayout(self)
        form.addRow("Opacity", self.opacity)
        form.addRow(toggles)
        form.addRow(self.level_box)

    def set_window_range(self, data_range: tuple[float, float] | None,
                         window: tuple[float, float] | None) -> None:
        """Show window/level for images with a ``window`` (16-bit, float); hide otherwise."""
        if data_range is not None and not all(np.isfinite(data_range)):
            data_range = window  # NaN/Inf pixels: fall back to the finite percentile window
        self.level_box.setVisible(data_range is not None and window is not None)
        if data_range is None or window is None:
            return
        self._range = (float(data_range[0]), float(max(data_range[1], data_range[0] + 1e-6)))
        for slider, value in ((self.level_low, window[0]), (self.level_high, window[1])):
            slider.blockSignals(True)
            slider.setValue(self._to_slider(value))
            slider.blockSignals(False)

    def show_window(self, low: float, high: float) -> None:
        """Move the sliders to a window set elsewhere (right-drag, preset) without re-emitting."""
        for slider, value in ((self.level_low, low), (self.level_high, high)):
            slider.blockSignals(True)
            slider.setValue(self._to_slider(value))
            slider.blockSignals(False)

    def _to_slider(self, value: float) -> int:
        lo, hi = self._range
        pos = (value - lo) / (hi - lo) * WL_STEPS
        return int(round(min(max(pos, 0.0), WL_STEPS))) if np.isfinite(pos) else 0

    def current_window(self) -> tuple[float, float]:  # not window(): QWidget.window() exists
        lo, hi = self._range
        a = lo + (hi - lo) * self.level_low.value() / WL_STEPS
        b = lo + (hi - lo) * self.level_high.value() / WL_STEPS
        return (a, b) if b > a else (a, a + (hi - lo) / WL_STEPS)

    def _wl_moved(self) -> None:
        self._wl_timer.start()

    def _emit_window(self) -> None:
        self.windowChanged.emit(*self.current_window())


class SuggestPanel(QGroupBox):
    """Suggest / Suggest all / Cancel, auto-suggest, a busy indicator and batch progress."""

    suggestRequested = Signal()
    suggestAllRequested = Signal()
    cancelRequested = Signal()
    autoSuggestToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Suggestions", parent)
        self.suggest = QPushButton("Suggest")
        self.suggest.clicked.connect(self.suggestRequested)
        self.suggest_all = QPushButton("Suggest all")
        self.suggest_all.clicked.connect(self.suggestAllRequested)
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.cancelRequested)
        self.auto = QCheckBox("Suggest when an image opens")
        self.auto.setChecked(True)
        self.auto.toggled.connect(self.autoSuggestToggled)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate "working" bar
        self.busy.setMaximumHeight(8)
        self.busy.setTextVisible(False)
        self.busy.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.eta = QLabel("")
        row = QHBoxLayout()
        for b in (self.suggest, self.suggest_all, self.cancel):
            row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.auto)
        layout.addWidget(self.busy)
        layout.addWidget(self.progress)
        layout.addWidget(self.eta)
        self._batch_start = 0.0

    def set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)

    def batch_started(self, total: int) -> None:
        self._batch_start = time.monotonic()
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel.setEnabled(True)
        self.suggest_all.setEnabled(False)
        self.eta.setText(f"0 / {total}")

    def batch_progress(self, done: int, total: int) -> None:
        self.progress.setValue(done)
        elapsed = time.monotonic() - self._batch_start
        if done > 0 and done < total:
            remaining = elapsed / done * (total - done)
            self.eta.setText(f"{done} / {total}, about {_duration(remaining)} left")
        else:
            self.eta.setText(f"{done} / {total}")

    def batch_finished(self, cancelled: bool) -> None:
        self.progress.setVisible(False)
        self.cancel.setEnabled(False)
        self.suggest_all.setEnabled(True)
        self.eta.setText("Cancelled" if cancelled else self.eta.text().split(",")[0] + " done")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
