"""The annotation canvas: a QGraphicsView with image, suggestion, label and uncertainty layers.

The view knows nothing about masks or tools; it maps mouse events to image pixel coordinates
and hands them to a :class:`PointerHandler` (the tool controller). Zoom, pan, the brush
cursor and in-canvas error messages live here.
"""
from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsEllipseItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from resunet_gui.qt.layers import ImageLayer, IndexedLayer, uncertainty_color_table
from resunet_gui.qt.outline import OutlineLayer

ZOOM_STEP = 1.25
MIN_SCALE, MAX_SCALE = 1 / 64, 64.0


class PointerHandler(Protocol):
    """What the canvas calls for mouse input on the image (pixel coordinates, float)."""

    def press(self, pos: QPointF, button: Qt.MouseButton, modifiers: Qt.KeyboardModifier) -> None: ...
    def move(self, pos: QPointF, buttons: Qt.MouseButton) -> None: ...
    def release(self, pos: QPointF, button: Qt.MouseButton) -> None: ...
    def double_click(self, pos: QPointF) -> None: ...


class CanvasView(QGraphicsView):
    """Shows one image and its overlays; emits ``zoomChanged`` and ``brushWheel``."""

    zoomChanged = Signal(float)
    brushWheel = Signal(int)  # +1 / -1 from ctrl+wheel
    cursorMoved = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        # a handful of items, one of which (the brush cursor) moves on every mouse move:
        # no BSP index to rebuild
        self.scene().setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QColor(40, 40, 40))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.CrossCursor)

        self.image_layer = ImageLayer()
        self.suggestion_layer = IndexedLayer()
        self.label_layer = IndexedLayer()
        self.outline_layer = OutlineLayer()
        self.uncertainty_layer = IndexedLayer()
        for z, item in enumerate((self.image_layer, self.suggestion_layer, self.label_layer,
                                  self.outline_layer, self.uncertainty_layer)):
            item.setZValue(z)
            self.scene().addItem(item)
        self.uncertainty_layer.set_color_table(uncertainty_color_table())
        self.uncertainty_layer.setVisible(False)

        self.brush_cursor = QGraphicsEllipseItem()
        self.brush_cursor.setPen(QPen(QColor(255, 255, 255, 220), 0))
        self.brush_cursor.setZValue(10)
        self.brush_cursor.setVisible(False)
        self.scene().addItem(self.brush_cursor)
        self.preview = QGraphicsPathItem()  # polygon / lasso in progress
        self.preview.setPen(QPen(QColor(255, 255, 0), 0, Qt.PenStyle.DashLine))
        self.preview.setBrush(QBrush(QColor(255, 255, 0, 40)))
        self.preview.setZValue(11)
        self.scene().addItem(self.preview)
        self.message = QGraphicsSimpleTextItem()
        self.message.setBrush(QColor(255, 200, 120))
        self.message.setZValue(12)
        self.message.setFlag(QGraphicsSimpleTextItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.scene().addItem(self.message)

        self.handler: PointerHandler | None = None
        self.window_drag: Any = None  # window_level.WindowLevelDrag: offered the mouse first
        self._brush_radius = 8.0
        self._space_down = False
        self._pan_anchor: QPointF | None = None
        self._image_size: tuple[int, int] | None = None
        self._fitted = False  # the view follows its size until the user zooms

    # ---- content ---------------------------------------------------------------------
    def set_image(self, display: np.ndarray | None) -> None:
        """Show ``display`` (uint8 HxW or HxWx3); ``None`` clears the canvas."""
        self.message.setText("")
        self.image_layer.set_array(display)
        for layer in (self.suggestion_layer, self.label_layer, self.uncertainty_layer):
            layer.set_array(None)
        self.outline_layer.follow(None)
        self.preview.setPath(QPainterPath())
        if display is None:
            self._image_size = None
            return
        h, w = display.shape[:2]
        self._image_size = (h, w)
        self.scene().setSceneRect(QRectF(-w * 0.05, -h * 0.05, w * 1.1, h * 1.1))
        self.fit()

    def show_message(self, text: str) -> None:
        """Replace the content by a readable message (e.g. an image that failed to load)."""
        self.set_image(None)
        self.message.setText(text)
        self.scene().setSceneRect(QRectF(0, 0, 400, 100))
        self.resetTransform()
        self.message.setPos(10, 10)
        self.centerOn(self.message)

    @property
    def message_text(self) -> str:
        return self.message.text()

    @property
    def image_size(self) -> tuple[int, int] | None:
        return self._image_size

    # ---- zoom / pan ------------------------------------------------------------------
    @property
    def scale_factor(self) -> float:
        return self.transform().m11()

    def set_scale(self, scale: float) -> None:
        scale = max(MIN_SCALE, min(MAX_SCALE, scale))
        cur = self.scale_factor or 1.0
        self._fitted = False
        self.scale(scale / cur, scale / cur)
        self.zoomChanged.emit(self.scale_factor)

    def zoom_by(self, factor: float) -> None:
        self.set_scale(self.scale_factor * factor)

    def fit(self) -> None:
        if self._image_size is None:
            return
        h, w = self._image_size
        self.fitInView(QRectF(0, 0, w, h), Qt.AspectRatioMode.KeepAspectRatio)
        self._fitted = True
        self.zoomChanged.emit(self.scale_factor)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    def actual_size(self) -> None:
        self.set_scale(1.0)

    def _pan_by(self, delta: QPointF) -> None:
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() - int(delta.x()))
        v.setValue(v.value() - int(delta.y()))

    # ---- brush cursor ----------------------------------------------------------------
    def set_brush_radius(self, radius: float) -> None:
        self._brush_radius = float(radius)
        self._place_cursor(self.brush_cursor.rect().center())

    def set_brush_cursor_visible(self, visible: bool) -> None:
        self.brush_cursor.setVisible(visible)

    def _place_cursor(self, pos: QPointF) -> None:
        r = self._brush_radius
        self.brush_cursor.setRect(QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r))

    def set_preview(self, points: list[QPointF], closed: bool) -> None:
        path = QPainterPath()
        if points:
            path.moveTo(points[0])
            for p in points[1:]:
                path.lineTo(p)
            if closed:
                path.closeSubpath()
        self.preview.setPath(path)

    # ---- events ----------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.brushWheel.emit(1 if steps > 0 else -1)
        else:
            self.zoom_by(ZOOM_STEP ** steps)
        event.accept()

    def _panning(self, event: QMouseEvent) -> bool:
        return bool(event.buttons() & Qt.MouseButton.MiddleButton) or (
            self._space_down and bool(event.buttons() & Qt.MouseButton.LeftButton))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._panning(event):
            self._pan_anchor = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if self.window_drag is not None and self.window_drag.press(event.position(), event.button()):
            return
        if self.handler is not None and self._image_size is not None:
            self.handler.press(self.mapToScene(event.position().toPoint()),
                               event.button(), event.modifiers())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_anchor is not None:
            self._pan_by(event.position() - self._pan_anchor)
            self._pan_anchor = event.position()
            return
        pos = self.mapToScene(event.position().toPoint())
        self._place_cursor(pos)
        self.cursorMoved.emit(pos.x(), pos.y())
        if self.window_drag is not None and self.window_drag.move(event.position()):
            return
        if self.handler is not None and self._image_size is not None:
            self.handler.move(pos, event.buttons())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_anchor is not None:
            self._pan_anchor = None
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
            return
        if self.window_drag is not None and self.window_drag.release(event.position(), event.button()):
            return
        if self.handler is not None and self._image_size is not None:
            self.handler.release(self.mapToScene(event.position().toPoint()), event.button())

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.handler is not None and self._image_size is not None:
            self.handler.double_click(self.mapToScene(event.position().toPoint()))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self._pan_anchor = None
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
            return
        super().keyReleaseEvent(event)
