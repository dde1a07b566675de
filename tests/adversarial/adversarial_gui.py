"""The real window for adversarial cases: offscreen, mouse strokes, nothing modal.

``window_for(arena)`` builds the main window without a model, answers every message box
(recording it) and turns any exception that reaches Qt's event loop (which a user would
see as a traceback on the console or a dead window) into ``CaseFailed``.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator

import numpy as np
from adversarial_harness import Arena, CaseFailed, Painted

from resunet_gui.core.types import BBox

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise CaseFailed("the window did not get there in time")
        QApplication.processEvents()
        time.sleep(0.005)


@contextlib.contextmanager
def window_for(arena: Arena) -> Iterator[object]:
    from PySide6.QtWidgets import QApplication, QMessageBox

    from resunet_gui.app import build_window
    from resunet_gui.qt.preferences import Preferences

    _app = QApplication.instance() or QApplication([])
    errors: list[str] = []
    saved = {n: getattr(QMessageBox, n) for n in ("warning", "critical", "information")}
    for name in saved:
        setattr(QMessageBox, name, staticmethod(
            lambda _parent, title, text, *a, **k: arena.messages.append(f"{title}: {text}")))
    old_hook = sys.excepthook
    sys.excepthook = lambda *exc: errors.append("".join(traceback.format_exception(*exc)))
    window = build_window(Preferences(arena.root / "prefs.ini"), engine_factory_for=None)
    try:
        window.resize(900, 600)
        window.show()
        yield window
    finally:
        window.close()
        QApplication.processEvents()
        sys.excepthook = old_hook
        for name, fn in saved.items():
            setattr(QMessageBox, name, fn)
    if errors:
        raise CaseFailed("exception in the window:\n" + errors[0])


def open_image(window, folder, stem: str) -> None:  # noqa: ANN001
    assert window.open_folder(folder)
    window.select_stem(stem)
    wait_until(lambda: window.editor.stem == stem and window.editor.document is not None)
    window.palette_widget.classSelected.emit(1)


def mouse_stroke(arena: Arena, window, x0: int, y0: int, x1: int, y1: int) -> None:  # noqa: ANN001
    """Drag the brush with the mouse; whatever the window accepted must never be lost."""
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtTest import QTest

    doc = window.editor.document
    before = doc.labels.copy()
    vp = window.canvas.viewport()

    def at(x: float, y: float):  # noqa: ANN202
        return window.canvas.mapFromScene(QPointF(x, y))

    button, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QTest.mousePress(vp, button, mods, at(x0, y0))
    QTest.mouseMove(vp, at((x0 + x1) / 2, (y0 + y1) / 2))
    QTest.mouseMove(vp, at(x1, y1))
    QTest.mouseRelease(vp, button, mods, at(x1, y1))
    changed = np.argwhere(doc.labels != before)
    if len(changed):
        (y_lo, x_lo), (y_hi, x_hi) = changed.min(0), changed.max(0)
        bbox = BBox(int(y_lo), int(x_lo), int(y_hi) + 1, int(x_hi) + 1)
        value = int(doc.labels[tuple(changed[0])])
        arena.painted.append(Painted(window.editor.stem, bbox, value))
