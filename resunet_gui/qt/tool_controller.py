"""Turns canvas pointer input into calls on the annotation stroke API.

No mask logic here: every edit goes through ``MaskDocument`` (which records history and
notifies listeners); this class only knows which tool is active and where the mouse is.
"""
from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

from PySide6.QtCore import QObject, QPointF, Qt, QTimer, Signal

from resunet_gui.core.types import IGNORE_INDEX, BBox

MIN_RADIUS, MAX_RADIUS = 1, 512
# undo regions compressed per idle tick after a stroke (~0.2 ms each on a slow CPU)
COMPACT_REGIONS_PER_TICK = 16


class Tool(str, Enum):
    BRUSH = "brush"
    ERASER = "eraser"
    FILL = "fill"
    POLYGON = "polygon"
    LASSO = "lasso"
    PICK = "pick"  # eyedropper: the class under the cursor becomes the current class
    FIX = "fix"  # click to fix (annotation/region_fix.py), probabilities from region_tools


class ToolController(QObject):
    """Active tool, class and brush size; drives a ``MaskDocument``.

    Signals: ``regionChanged(BBox)`` while a stroke paints (the canvas repaints that rect),
    ``edited()`` after each committed step, ``toolChanged``, ``radiusChanged``.
    """

    regionChanged = Signal(object)
    edited = Signal()
    toolChanged = Signal(str)
    radiusChanged = Signal(int)
    previewChanged = Signal(list, bool)
    interacting = Signal(bool)  # True while a button is held on the canvas
    classPicked = Signal(int)  # label value under the eyedropper

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document: Any = None  # annotation.document.MaskDocument
        self.tool = Tool.BRUSH
        self.value = 1
        self.erase_value = IGNORE_INDEX  # "unlabelled", or the project's background class
        self._lasso_erases = False
        self.radius = 8
        self.enabled = True
        self._last: tuple[float, float] | None = None
        self._stroke_value: int | None = None
        self._points: list[QPointF] = []
        self.fix_probs: Callable[[], Any] = lambda: None  # set by qt/region_tools.py
        # a stroke's undo tiles are compressed in slices once the button is released,
        # not all at once on release (the longest pause on a huge mask)
        self._compactor = QTimer(self)
        self._compactor.setInterval(0)
        self._compactor.timeout.connect(self._compact_slice)

    # ---- state -----------------------------------------------------------------------
    def set_document(self, document: Any) -> None:
        self.cancel()
        self.document = document

    def set_tool(self, tool: Tool | str) -> None:
        self.cancel()
        self.tool = Tool(tool)
        self.toolChanged.emit(self.tool.value)

    def set_value(self, value: int) -> None:
        self.value = int(value)

    def set_radius(self, radius: int) -> None:
        self.radius = max(MIN_RADIUS, min(MAX_RADIUS, int(radius)))
        self.radiusChanged.emit(self.radius)

    def grow(self, direction: int) -> None:
        """``]`` / ctrl+wheel up: about 15% bigger per step (at least one pixel)."""
        step = max(1, round(self.radius * 0.15))
        self.set_radius(self.radius + direction * step)

    def cancel(self) -> None:
        """Drop an unfinished polygon/lasso; finish a half-done stroke cleanly."""
        if self._stroke_value is not None and self.document is not None:
            self._end_stroke()
        self._points = []
        self.previewChanged.emit([], False)

    @property
    def busy(self) -> bool:
        return self._stroke_value is not None or bool(self._points)

    # ---- pointer handler (called by CanvasView) ---------------------------------------
    @staticmethod
    def _px(pos: QPointF) -> tuple[float, float]:
        """Scene position -> (x, y) image pixel coordinates (sub-pixel; centres at +0.5)."""
        return pos.x() - 0.5, pos.y() - 0.5

    def press(self, pos: QPointF, button: Qt.MouseButton, modifiers: Qt.KeyboardModifier) -> None:
        if self.document is None or not self.enabled:
            return
        self.interacting.emit(True)
        left = button == Qt.MouseButton.LeftButton
        right = button == Qt.MouseButton.RightButton
        if self.tool in (Tool.BRUSH, Tool.ERASER) and (left or right):
            erase = self.tool == Tool.ERASER or right
            self._stroke_value = self.erase_value if erase else self.value
            self.document.begin_stroke()
            self._last = self._px(pos)
            self._paint_to(self._last)
        elif self.tool == Tool.FILL and left:
            self._commit(self.document.fill((int(pos.x()), int(pos.y())), self.value))
        elif self.tool == Tool.FIX and left:
            probs = self.fix_probs()
            if probs is not None:
                self._commit(self.document.fix_region((int(pos.x()), int(pos.y())),
                                                      self.value, probs))
        elif self.tool == Tool.POLYGON and left:
            if len(self._points) >= 3 and _near(pos, self._points[0], 6):
                self.finish_polygon()
                return
            self._points.append(QPointF(pos))
            self.previewChanged.emit(list(self._points), False)
        elif self.tool == Tool.POLYGON and right:
            self.finish_polygon()
        elif self.tool == Tool.LASSO and (left or right):
            # fills with the current class; Shift or the right button erases
            self._lasso_erases = right or bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
            self._points = [QPointF(pos)]
        elif self.tool == Tool.PICK and left:
            self._pick(pos)

    def move(self, pos: QPointF, buttons: Qt.MouseButton) -> None:
        if self._stroke_value is not None:
            self._paint_to(self._px(pos))
        elif self.tool == Tool.LASSO and self._points:
            self._points.append(QPointF(pos))
            self.previewChanged.emit(list(self._points), True)
        elif self.tool == Tool.POLYGON and self._points:
            self.previewChanged.emit([*self._points, QPointF(pos)], True)

    def release(self, pos: QPointF, button: Qt.MouseButton) -> None:
        self.interacting.emit(False)
        if self._stroke_value is not None:
            self._paint_to(self._px(pos))
            self._end_stroke()
        elif self.tool == Tool.LASSO and self._points:
            pts = [self._px(p) for p in self._points]
            self._points = []
            self.previewChanged.emit([], False)
            if len(pts) >= 3:
                self._commit(self.document.lasso_erase(pts, self.erase_value)
                             if self._lasso_erases else self.document.polygon(pts, self.value))

    def double_click(self, pos: QPointF) -> None:
        if self.tool == Tool.POLYGON:
            self.finish_polygon()

    def finish_polygon(self) -> None:
        pts = [self._px(p) for p in self._points]
        self._points = []
        self.previewChanged.emit([], False)
        if len(pts) >= 3 and self.document is not None:
            self._commit(self.document.polygon(pts, self.value))

    # ---- internals -------------------------------------------------------------------
    def _pick(self, pos: QPointF) -> None:
        labels = self.document.labels
        x, y = int(pos.x()), int(pos.y())
        if 0 <= y < labels.shape[0] and 0 <= x < labels.shape[1]:
            self.classPicked.emit(int(labels[y, x]))

    def _paint_to(self, p: tuple[float, float]) -> None:
        assert self._last is not None and self._stroke_value is not None
        bbox = self.document.paint(self._last, p, self.radius, self._stroke_value)
        self._last = p
        if bbox is not None and not bbox.empty:
            self.regionChanged.emit(bbox)

    def _end_stroke(self) -> None:
        self._stroke_value = None
        self._last = None
        self._commit(self.document.end_stroke())
        self._compactor.start()

    def _compact_slice(self) -> None:
        """One slice of undo compression per event-loop pass, also while the next stroke is
        drawn (a slice costs less than a frame), so a quick next release never pays for it."""
        if self.document is None or not self.document.compact_history(COMPACT_REGIONS_PER_TICK):
            self._compactor.stop()

    def _commit(self, bbox: BBox | None) -> None:
        if bbox is not None and not bbox.empty:
            self.regionChanged.emit(bbox)
            self.edited.emit()


def _near(a: QPointF, b: QPointF, dist: float) -> bool:
    d = a - b
    return d.x() * d.x() + d.y() * d.y() <= dist * dist
