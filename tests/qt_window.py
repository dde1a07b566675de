"""Helpers for the GUI tests: tiny image folders and a window with no model service."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from resunet_gui.app import build_window
from resunet_gui.qt.preferences import Preferences


def make_folder(folder: Path, names: Sequence[str], size: int = 64,
                color: tuple[int, int, int] = (90, 90, 90), classes: list | None = None) -> Path:
    """A plain folder of uniform BGR-written PNGs (``color`` is RGB)."""
    folder.mkdir(parents=True, exist_ok=True)
    bgr = color[::-1]
    for name in names:
        cv2.imwrite(str(folder / f"{name}.png"), np.full((size, size, 3), bgr, np.uint8))
    if classes is not None:
        (folder / "classes.json").write_text(json.dumps({"classes": classes}))
    return folder


@pytest.fixture
def plain_window(qtbot, tmp_path):
    """``make(with_model=False)``: a shown MainWindow; closed at the end of the test."""
    windows = []

    def make(engine_factory_for=None):  # noqa: ANN001, ANN202
        w = build_window(Preferences(tmp_path / "prefs.ini"), engine_factory_for=engine_factory_for)
        w.resize(1000, 700)
        with qtbot.waitExposed(w):
            w.show()
        w.activateWindow()  # window shortcuts fire only in the active window
        qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.close()


def grab(widget) -> np.ndarray:  # noqa: ANN001
    """What ``widget`` renders, as an RGB uint8 array."""
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    h, w = img.height(), img.width()
    return np.frombuffer(img.constBits(), np.uint8, h * img.bytesPerLine()).reshape(
        h, img.bytesPerLine())[:, :w * 3].reshape(h, w, 3).copy()


def canvas_point(window, x: float, y: float) -> QPoint:  # noqa: ANN001
    """Viewport position of image pixel (x, y)."""
    return window.canvas.mapFromScene(QPointF(x, y))


def rendered_at(window, x: float, y: float) -> np.ndarray:  # noqa: ANN001
    """RGB the canvas viewport shows at image pixel (x, y)."""
    p = canvas_point(window, x, y)
    return grab(window.canvas.viewport())[p.y(), p.x()].astype(int)


def drag(window, points, button=Qt.MouseButton.LeftButton,  # noqa: ANN001
         mod=Qt.KeyboardModifier.NoModifier) -> None:
    vp = window.canvas.viewport()
    QTest.mousePress(vp, button, mod, canvas_point(window, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, canvas_point(window, *p))
    QTest.mouseRelease(vp, button, mod, canvas_point(window, *points[-1]))


def key(window, k, mod=Qt.KeyboardModifier.NoModifier) -> None:  # noqa: ANN001
    window.activateWindow()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, k, mod)
