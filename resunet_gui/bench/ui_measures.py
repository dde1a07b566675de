"""Qt-side measurements for ``resunet-gui bench --ui`` (``bench.ui`` prints them).

Event-loop stalls are gaps between the ticks of a 5 ms precise QTimer; repaints are
included by letting the event loop deliver the scheduled paint events.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["TickRecorder", "measure_brush_stall", "measure_open",
           "measure_segment_undo", "measure_suggest_stall"]


def _pump(app: Any, until: Any = None, timeout: float = 120.0) -> None:
    end = time.perf_counter() + timeout
    app.processEvents()
    while until is not None and not until() and time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)


class TickRecorder:
    """A 5 ms QTimer; the gaps between its ticks are what the user feels as stalls."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.ticks: list[float] = []

    def _tick(self) -> None:
        self.ticks.append(time.perf_counter())

    def start(self) -> None:
        self.ticks = [time.perf_counter()]
        self.timer.start()

    def stop(self) -> dict[str, float]:
        self.timer.stop()
        gaps = np.diff(np.array(self.ticks)) * 1e3
        if gaps.size == 0:
            return {"max_ms": float("nan"), "p99_ms": float("nan"), "ticks": 0}
        return {"max_ms": float(gaps.max()), "p99_ms": float(np.percentile(gaps, 99)),
                "ticks": int(gaps.size)}


def _drag(window: Any, app: Any, points: list[tuple[float, float]], rec: TickRecorder,
          interval_ms: int = 8) -> dict[str, float]:
    """Send real press/move/release events from a timer (a hand moving the mouse) while the
    5 ms ticks are recorded; returns the tick statistics."""
    from PySide6.QtCore import QPointF, Qt, QTimer
    from PySide6.QtTest import QTest

    vp = window.canvas.viewport()

    def at(i: int) -> Any:
        return window.canvas.mapFromScene(QPointF(*points[i]))

    state = {"i": 0}
    mover = QTimer()
    mover.setInterval(interval_ms)

    def step() -> None:
        i = state["i"]
        if i == 0:
            QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(0))
        elif i < len(points):
            QTest.mouseMove(vp, at(i))
        else:
            QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                               at(len(points) - 1))
            mover.stop()
        state["i"] = i + 1

    mover.timeout.connect(step)
    rec.start()
    mover.start()
    _pump(app, lambda: state["i"] > len(points))
    _pump(app, None)
    return rec.stop()


def _dispose(app: Any, widget: Any) -> None:
    """Close and delete a window while the QApplication is alive (clean interpreter exit)."""
    from PySide6.QtCore import QCoreApplication, QEvent

    widget.close()
    widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.processEvents()


def _window(prefs_path: Path, engine_factory_for: Any = None) -> Any:
    from resunet_gui.qt.main_window import MainWindow
    from resunet_gui.qt.preferences import Preferences
    from resunet_gui.qt.service_bridge import ServiceBridge

    w = MainWindow(Preferences(prefs_path))
    if engine_factory_for is not None:
        w.attach_bridge(ServiceBridge(w), engine_factory_for)
    w.resize(1400, 900)
    w.show()
    return w


def measure_open(app: Any, tmp: Path, big: Path, one: Path) -> dict[str, float]:
    """10,000-image folder (``big``) listed; a 2048x2048 image of ``one`` shown (decode +
    first paint)."""
    out: dict[str, float] = {}
    w = _window(tmp / "o.ini")
    _pump(app)
    w.images.thumbnails_enabled = False  # listing, not thumbnail decoding, is measured here
    t = time.perf_counter()
    w.open_folder(big)
    w.list_view.viewport().repaint()
    _pump(app)
    out["folder_10k_s"] = time.perf_counter() - t
    out["folder_rows"] = w.images.rowCount()
    w.open_folder(one)
    _pump(app)
    times = []
    for stem in ("img_00001", "img_00000", "img_00001"):
        t = time.perf_counter()
        w.show_stem(stem)
        w.canvas.viewport().repaint()
        _pump(app)
        times.append((time.perf_counter() - t) * 1e3)
    out["image_2048_ms"] = float(np.median(times))
    _dispose(app, w)
    return out


def measure_suggest_stall(app: Any, tmp: Path, folder: Path, engine_factory: Any
                          ) -> dict[str, float]:
    """Event-loop gaps while a 2048x2048 suggestion runs on the CPU model service."""
    w = _window(tmp / "s.ini", lambda _p: engine_factory)
    w.suggestions.auto_suggest = False
    w.open_folder(folder)
    _pump(app, lambda: w.device_label.text().startswith("device"))
    arrived: list[str] = []
    w.suggestions.suggestionArrived.connect(arrived.append)
    w.suggestions.request_current(force=True)  # warm-up (first call allocates)
    _pump(app, lambda: bool(arrived))
    arrived.clear()
    rec = TickRecorder()
    rec.start()
    t = time.perf_counter()
    w.suggestions.request_current(force=True)
    _pump(app, lambda: bool(arrived))
    stats = rec.stop()
    stats["suggest_s"] = time.perf_counter() - t
    _dispose(app, w)
    return stats


def measure_brush_stall(app: Any, tmp: Path) -> dict[str, float]:
    """Event-loop gaps while a brush stroke is dragged over an 8192x8192 image."""
    from resunet_gui.annotation.document import MaskDocument

    w = _window(tmp / "b.ini")
    n = 8192
    display = np.full((n, n, 3), 100, np.uint8)
    doc = MaskDocument(np.zeros((n, n), np.uint8))
    w.canvas.set_image(display)
    w.canvas.label_layer.set_array(doc.labels)
    w.tools.set_document(doc)
    w.tools.set_radius(40)
    w._recolour()
    _pump(app)
    pts: list[tuple[float, float]] = [(1000 + 40 * i, 4000 + 1500 * np.sin(i / 20)) for i in range(150)]
    stats = _drag(w, app, pts, TickRecorder())
    stats["painted_px"] = int(np.count_nonzero(doc.labels))
    w.tools.set_document(None)
    _dispose(app, w)
    return stats


def measure_segment_undo(app: Any) -> dict[str, float]:
    """Brush segment and undo of a 50-segment stroke on 16384x16384, with repaint, at 1:1."""
    from PySide6.QtCore import QPointF

    from resunet_gui.annotation.document import MaskDocument
    from resunet_gui.core.types import DEFAULT_CLASSES
    from resunet_gui.qt.canvas import CanvasView
    from resunet_gui.qt.layers import label_color_table

    n = 16384
    view = CanvasView()
    view.resize(1200, 800)
    view.show()
    view.set_image(np.full((n, n, 3), 100, np.uint8))
    doc = MaskDocument(np.zeros((n, n), np.uint8))
    view.label_layer.set_color_table(label_color_table(DEFAULT_CLASSES, 0.5))
    view.label_layer.set_array(doc.labels)
    doc.add_listener(lambda bbox, _patch: view.label_layer.update_bbox(bbox))
    view.actual_size()
    view.centerOn(QPointF(8200, 8200))
    _pump(app)
    seg_ms, undo_ms = [], []
    for rep in range(5):
        y = 8000 + 40 * rep
        doc.begin_stroke()
        for i in range(50):
            p0, p1 = (7900 + 12 * i, y), (7900 + 12 * (i + 1), y + 3)
            t = time.perf_counter()
            view.label_layer.update_bbox(doc.paint(p0, p1, 10, 1))
            app.processEvents()  # delivers the scheduled repaint of that rectangle
            seg_ms.append((time.perf_counter() - t) * 1e3)
        doc.end_stroke()
        app.processEvents()
        t = time.perf_counter()
        doc.undo()  # the listener schedules the restored rectangle
        app.processEvents()
        undo_ms.append((time.perf_counter() - t) * 1e3)
    _dispose(app, view)
    del doc
    return {"segment_ms": float(np.median(seg_ms)), "segment_p95_ms": float(np.percentile(seg_ms, 95)),
            "undo_ms": float(np.median(undo_ms)), "undo_max_ms": float(max(undo_ms))}


def measure_training_stall(app: Any, tmp: Path, folder: Path, engine_factory_for: Any,
                           wait_s: float = 600.0) -> dict[str, float]:
    """Event-loop gaps while the model service trains in the background: idle, and while a
    brush stroke is dragged (torch is capped to one thread during the drag)."""
    w = _window(tmp / "t.ini", engine_factory_for)
    w.suggestions.auto_suggest = False
    steps: list[int] = []
    w.bridge.trainingStatus.connect(lambda st: steps.append(int(st.step or 0)))
    w.open_folder(folder)
    _pump(app, lambda: any(s > 0 for s in steps), timeout=wait_s)
    out: dict[str, float] = {"training_started": float(any(s > 0 for s in steps))}
    if not out["training_started"]:
        _dispose(app, w)
        return out
    rec = TickRecorder()
    rec.start()
    end = time.perf_counter() + 3.0
    _pump(app, lambda: time.perf_counter() > end)
    idle = rec.stop()
    h, wd = w.canvas.image_size or (256, 256)
    pts = [(wd * (0.1 + 0.8 * i / 120), h * (0.5 + 0.3 * np.sin(i / 10))) for i in range(120)]
    w.tools.set_radius(8)
    drag = _drag(w, app, pts, TickRecorder(), interval_ms=16)
    out.update({"idle_max_ms": idle["max_ms"], "idle_p99_ms": idle["p99_ms"],
                "drag_max_ms": drag["max_ms"], "drag_p99_ms": drag["p99_ms"],
                "steps_seen": float(max(steps))})
    _dispose(app, w)
    return out
