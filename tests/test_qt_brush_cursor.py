"""The brush cursor shows the brush's true size at any zoom, and the status bar says the size
in image pixels (issue 17, item 7); driven with wheel and mouse events, checked on pixels."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QLabel

from resunet_gui.annotation.document import MaskDocument
from resunet_gui.app import build_window
from resunet_gui.qt.preferences import Preferences


@pytest.fixture
def window(qtbot, tmp_path):
    w = build_window(Preferences(tmp_path / "prefs.ini"), engine_factory_for=None)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    n = 6000
    w.canvas.set_image(np.zeros((n, n, 3), np.uint8))  # black: the white ring stands out
    doc = MaskDocument(np.zeros((n, n), np.uint8))
    w.canvas.label_layer.set_array(doc.labels)
    w.tools.set_document(doc)
    yield w
    w.tools.set_document(None)
    w.close()


def _wheel(view, pos: QPoint, steps: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    vp = view.viewport()
    event = QWheelEvent(QPointF(pos), QPointF(vp.mapToGlobal(pos)), QPoint(0, 0),
                        QPoint(0, 120 * steps), Qt.MouseButton.NoButton, modifiers,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, event)


def _hover(view, pos: QPoint) -> None:
    """A mouse move with no button held, as the pointer crosses the canvas."""
    vp = view.viewport()
    event = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(vp.mapToGlobal(pos)),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, event)


def _ring_diameter(view, centre: QPoint) -> int:
    """Width in screen pixels of the bright ring drawn around ``centre``."""
    img = view.viewport().grab().toImage()
    row = centre.y()
    xs = [x for x in range(max(0, centre.x() - 300), min(img.width(), centre.x() + 300))
          if img.pixelColor(x, row).lightness() > 150]
    return max(xs) - min(xs) + 1 if xs else 0


def test_brush_ring_has_the_true_size_at_zoom_0_13_and_the_status_bar_says_it(window, qtbot):
    view = window.canvas
    window.tools.set_radius(40)
    centre = QPoint(view.viewport().width() // 2, view.viewport().height() // 2)
    view.set_scale(1.0)
    _wheel(view, centre, -9)  # 1.25 ** -9 = 0.134
    assert view.scale_factor == pytest.approx(0.134, abs=0.002)
    _hover(view, centre)
    qtbot.wait(20)
    expected = 2 * 40 * view.scale_factor  # 10.7 screen pixels
    assert abs(_ring_diameter(view, centre) - expected) <= 2
    labels = window.statusBar().findChildren(QLabel)
    assert "brush 81 px" in [label.text() for label in labels if label.isVisible()]
    for _ in range(5):
        _wheel(view, centre, 1, Qt.KeyboardModifier.ControlModifier)  # Ctrl+wheel: bigger brush
    r = window.tools.radius
    assert r > 40
    _hover(view, centre)
    qtbot.wait(20)
    assert abs(_ring_diameter(view, centre) - 2 * r * view.scale_factor) <= 2
    assert window.brush_label.text() == f"brush {2 * r + 1} px"
