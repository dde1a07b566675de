"""Window/level like a radiology viewer: right-drag, CT presets, the pixel value under the cursor.

Right-drag on the canvas changes the display window of 16-bit/float images (DICOM among
them): horizontal motion changes the width (contrast), vertical motion the level (centre;
dragging down raises it, so the image darkens). 8-bit images have no window, so there the
right button keeps its brush meaning (erase). Only the display changes; the pixels the
model sees and the exports keep the file's values.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QComboBox, QWidget

from resunet_gui.core.imageio import display_through_window

# (level, width) in Hounsfield units, from Radiopaedia's "Windowing (CT)" article
# (https://radiopaedia.org/articles/windowing-ct): brain W80 L40, soft tissue W400 L40
# (W350-400 L20-60), lungs W1500 L-600, bone W1800 L400.
CT_PRESETS: dict[str, tuple[float, float]] = {
    "CT brain": (40.0, 80.0),
    "CT soft tissue": (40.0, 400.0),
    "CT lung": (-600.0, 1500.0),
    "CT bone": (400.0, 1800.0),
}
DRAG_PIXELS_PER_RANGE = 600.0  # dragging this many screen pixels sweeps the whole data range


def window_of(level: float, width: float) -> tuple[float, float]:
    """(low, high) display window from a level (centre) and a width."""
    return level - width / 2.0, level + width / 2.0


def render(image: Any, low: float, high: float) -> np.ndarray:
    """uint8 HxWx3 of ``image.raw`` through [low, high] (NaN/Inf black, MONOCHROME1 inverted)."""
    return display_through_window(image.raw, (low, high), invert=bool(image.extra.get("invert")))


def pixel_text(image: Any, x: float, y: float) -> str:
    """The file's value under the cursor ("-1021 HU" for CT, "R,G,B" for colour), or ""."""
    h, w = image.shape
    col, row = int(np.floor(x)), int(np.floor(y))
    if not (0 <= row < h and 0 <= col < w):
        return ""
    value = image.raw[row, col]
    if np.ndim(value):
        return "value " + ",".join(str(v) for v in value.tolist())
    units = image.extra.get("units") or ""
    shown = f"{value:.4g}" if image.raw.dtype.kind == "f" else str(int(value))
    return f"value {shown}{' ' + units if units else ''}"


class WindowLevelDrag:
    """The right-drag gesture; the canvas offers it every press/move/release first.

    It calls ``on_window(low, high)`` per mouse move: the window that owns the canvas is
    its only listener, so a plain callback is enough.
    """

    def __init__(self, on_window: Callable[[float, float], None]) -> None:
        self.on_window = on_window
        self.window: tuple[float, float] | None = None
        self._span = 1.0
        self._anchor: QPointF | None = None
        self._start = (0.0, 1.0)  # (level, width) when the drag began

    def set_image(self, window: tuple[float, float] | None, data_range: tuple[float, float]) -> None:
        """Enable the gesture for an image with a display window (16-bit, float); else off."""
        self._anchor = None
        self.window = window
        self._span = max(float(data_range[1]) - float(data_range[0]), 1e-6)

    def set_window(self, low: float, high: float) -> None:
        """Keep in step with windows set elsewhere (sliders, presets)."""
        if self.window is not None:
            self.window = (low, high)

    def press(self, pos: QPointF, button: Qt.MouseButton) -> bool:
        if self.window is None or button != Qt.MouseButton.RightButton:
            return False
        low, high = self.window
        self._anchor, self._start = QPointF(pos), ((low + high) / 2.0, high - low)
        return True

    def move(self, pos: QPointF) -> bool:
        if self._anchor is None:
            return False
        step = self._span / DRAG_PIXELS_PER_RANGE
        delta = pos - self._anchor
        level = self._start[0] + delta.y() * step
        width = max(self._start[1] + delta.x() * step, step)
        self.window = window_of(level, width)
        self.on_window(*self.window)
        return True

    def release(self, pos: QPointF, button: Qt.MouseButton) -> bool:
        if self._anchor is None or button != Qt.MouseButton.RightButton:
            return False
        self.move(pos)
        self._anchor = None
        return True


class PresetBox(QComboBox):
    """CT window presets; shown for images in Hounsfield units only."""

    presetChosen = Signal(float, float)  # low, high

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.addItem("Preset...", None)
        for name, (level, width) in CT_PRESETS.items():
            self.addItem(f"{name} (L {level:g} / W {width:g})", (level, width))
        self.activated.connect(self._chosen)

    def _chosen(self, index: int) -> None:
        data = self.itemData(index)
        if data is not None:
            self.presetChosen.emit(*window_of(*data))
