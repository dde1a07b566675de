"""Slice-by-slice browsing of a stack (multi-frame DICOM, multi-page TIFF).

Each slice is its own image in the list; the slider walks the slices of the stack the
current image belongs to, whatever the list's filter hides.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget


class StackSlider(QWidget):
    """A slider over the current stack's slices; hidden for images that are not slices."""

    stemChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setPageStep(1)
        self.label = QLabel("")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Slice"))
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self._stems: list[str] = []
        self.slider.valueChanged.connect(self._moved)
        self.setVisible(False)

    def show_stack(self, stems: list[str], current: str) -> None:
        """``stems``: the stack's slices in order (one or none: not a stack, hide)."""
        self._stems = stems if current in stems and len(stems) > 1 else []
        self.setVisible(bool(self._stems))
        if not self._stems:
            return
        index = self._stems.index(current)
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(self._stems) - 1)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self.label.setText(f"{index + 1} / {len(self._stems)}")

    def step(self, delta: int) -> None:
        """Previous/next slice (keyboard); stops at the ends."""
        if self._stems:
            self.slider.setValue(self.slider.value() + delta)

    def _moved(self, value: int) -> None:
        if 0 <= value < len(self._stems):
            self.label.setText(f"{value + 1} / {len(self._stems)}")
            self.stemChosen.emit(self._stems[value])
