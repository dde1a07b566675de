"""Canvas + tool controller driven by real mouse events, on a bare MaskDocument."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from resunet_gui.annotation.document import MaskDocument
from resunet_gui.core.types import ClassSpec
from resunet_gui.qt.canvas import CanvasView
from resunet_gui.qt.layers import label_color_table, suggestion_display
from resunet_gui.qt.tool_controller import Tool, ToolController

CLASSES = [ClassSpec(0, "bg", (0, 0, 0), "1"), ClassSpec(1, "fg", (255, 0, 0), "2")]


@pytest.fixture
def canvas(qtbot):
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    qtbot.waitExposed(view)
    image = np.full((200, 200, 3), 90, np.uint8)
    doc = MaskDocument(np.zeros((200, 200), np.uint8))
    tools = ToolController()
    view.handler = tools
    view.set_image(image)
    view.label_layer.set_color_table(label_color_table(CLASSES, 0.5))
    view.label_layer.set_array(doc.labels)
    tools.set_document(doc)
    tools.erase_value = 0  # CLASSES declares class 0 as background
    tools.regionChanged.connect(view.label_layer.update_bbox)
    return view, doc, tools


def _vp(view: CanvasView, x: float, y: float) -> QPoint:
    return view.mapFromScene(QPointF(x, y))


def drag(view: CanvasView, points, button=Qt.MouseButton.LeftButton) -> None:
    vp = view.viewport()
    QTest.mousePress(vp, button, Qt.KeyboardModifier.NoModifier, _vp(view, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, _vp(view, *p))
    QTest.mouseRelease(vp, button, Qt.KeyboardModifier.NoModifier, _vp(view, *points[-1]))


def test_brush_drag_paints_labels_and_is_one_undo_step(canvas):
    view, doc, tools = canvas
    tools.set_radius(4)
    drag(view, [(50, 100), (80, 100), (120, 100)])
    assert doc.labels[100, 60] == 1 and doc.labels[100, 110] == 1
    assert doc.labels[20, 20] == 0
    doc.undo()
    assert not doc.labels.any()


def test_a_released_stroke_is_compressed_for_undo_once_the_window_is_idle(canvas, qtbot):
    view, doc, tools = canvas
    tools.set_radius(6)
    drag(view, [(5, 5), (100, 150), (195, 20)])
    painted = doc.labels.copy()
    assert doc.history.pending == 1  # release commits without compressing ...
    qtbot.waitUntil(lambda: doc.history.pending == 0, timeout=2000)  # ... the idle loop does
    doc.undo()
    assert not doc.labels.any()
    doc.redo()
    assert np.array_equal(doc.labels, painted)


def test_right_button_erases_and_eraser_tool_erases(canvas):
    view, doc, tools = canvas
    doc.labels[90:110, 40:160] = 1
    drag(view, [(60, 100), (70, 100)], Qt.MouseButton.RightButton)
    assert doc.labels[100, 65] == 0 and doc.labels[100, 140] == 1
    tools.set_tool(Tool.ERASER)
    drag(view, [(130, 100), (140, 100)])
    assert doc.labels[100, 135] == 0


def test_fill_polygon_and_lasso_tools(canvas):
    view, doc, tools = canvas
    tools.set_tool(Tool.POLYGON)
    for p in [(20, 20), (60, 20), (60, 60), (20, 60)]:
        drag(view, [p])
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, _vp(view, 20, 60))
    assert doc.labels[40, 40] == 1 and doc.labels[80, 80] == 0
    tools.set_tool(Tool.LASSO)  # the right button erases with the lasso
    drag(view, [(30, 30), (50, 30), (50, 50), (30, 50)], Qt.MouseButton.RightButton)
    assert doc.labels[40, 40] == 0 and doc.labels[25, 25] == 1
    tools.set_tool(Tool.FILL)
    drag(view, [(150, 150)])
    assert doc.labels[150, 150] == 1 and doc.labels[40, 40] == 0


def test_stroke_repaints_only_the_touched_rectangle(canvas, monkeypatch):
    view, doc, tools = canvas
    rects = []
    layer = view.label_layer
    orig = type(layer).update

    def spy(self, *args):
        if args:
            rects.append(args[0])
        return orig(self, *args)

    monkeypatch.setattr(type(layer), "update", spy)
    tools.set_radius(3)
    drag(view, [(100, 100), (104, 100)])
    assert rects, "the stroke scheduled no repaint"
    assert all(r.width() <= 20 and r.height() <= 20 for r in rects)


def test_brush_size_keys_and_ctrl_wheel_change_radius(canvas, qtbot):
    view, _doc, tools = canvas
    view.brushWheel.connect(tools.grow)
    tools.set_radius(10)
    from PySide6.QtCore import QPointF as P
    from PySide6.QtGui import QWheelEvent

    ev = QWheelEvent(P(50, 50), P(50, 50), QPoint(0, 0), QPoint(0, 120),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                     Qt.ScrollPhase.NoScrollPhase, False)
    view.wheelEvent(ev)
    assert tools.radius > 10
    before = view.scale_factor
    ev = QWheelEvent(P(50, 50), P(50, 50), QPoint(0, 0), QPoint(0, 120),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                     Qt.ScrollPhase.NoScrollPhase, False)
    view.wheelEvent(ev)
    assert view.scale_factor > before


def test_suggestion_display_marks_outline_and_hatches_interior():
    mask = np.zeros((20, 20), np.uint8)
    mask[5:15, 5:15] = 1
    disp = suggestion_display(mask, hatch=6)
    assert disp[5, 8] == 1  # boundary keeps the class id
    assert disp[6, 6] == 1 | 0x80  # (6 + 6) % 6 == 0: on a stripe, gets the fill bit
    assert disp[8, 10] == 1 | 0x80  # (8 + 10) % 6 == 0: stripe
    assert disp[8, 12] == 0  # between stripes: transparent
    assert disp[0, 0] == 0


def test_message_replaces_image(canvas):
    view, _doc, _tools = canvas
    view.show_message("Cannot show x: corrupt")
    assert "corrupt" in view.message_text
    assert view.image_size is None


def test_middle_button_and_space_drag_pan_the_view(canvas, qtbot):
    view, doc, _tools = canvas
    view.set_scale(8.0)
    h0, v0 = view.horizontalScrollBar().value(), view.verticalScrollBar().value()
    vp = view.viewport()
    QTest.mousePress(vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 200))
    QTest.mouseMove(vp, QPoint(150, 160))
    QTest.mouseRelease(vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(150, 160))
    assert view.horizontalScrollBar().value() != h0 or view.verticalScrollBar().value() != v0
    assert not doc.labels.any()  # panning never paints
    QTest.keyPress(view, Qt.Key.Key_Space)
    h1 = view.horizontalScrollBar().value()
    drag(view, [(100, 100), (90, 100)])
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert view.horizontalScrollBar().value() != h1
    assert not doc.labels.any()


def test_suggestion_display_outlines_where_classes_meet_and_hides_ignore():
    mask = np.zeros((30, 40), np.uint8)
    mask[5:25, 5:20] = 1
    mask[5:25, 20:35] = 2  # touches class 1 along column 19/20
    mask[0:3, :] = 255  # ignore reads as background
    disp = suggestion_display(mask, hatch=6)
    again = suggestion_display(mask, hatch=6)  # pure: the same mask gives the same display
    assert np.array_equal(disp, again)
    assert disp[10, 19] == 1 and disp[10, 20] == 2  # the shared edge keeps both class ids
    assert (disp[0:3] == 0).all()
    interior = disp[8:22, 8:17]
    assert set(np.unique(interior)) == {0, 1 | 0x80}
    assert disp[12, 12] == 1 | 0x80  # (12 + 12) % 6 == 0
    assert (disp[mask == 0] == 0).all()
    small = suggestion_display(mask[:10, :10], hatch=6)  # another size, another pattern
    assert small.shape == (10, 10)
