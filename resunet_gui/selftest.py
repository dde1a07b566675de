"""End-to-end check that an installed copy works: ``resunet-gui --self-test``.

Runs offscreen in a temporary folder, so it is safe on a user's machine and in a CI box with
no display: create the demo project, open it in the real main window, run a suggestion
through the model service, paint a stroke with real mouse events on the canvas, save, and
read the mask back from disk. Packagers run it against the frozen bundle (packaging/build.sh)
because that is where missing Qt plugins, torch libraries or data files show up.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from resunet_gui.core.errors import ResunetError

# The stroke: a horizontal line through the middle of the image, in image pixels.
STROKE_RADIUS = 6


class SelfTestError(ResunetError):
    """A self-test step failed; the message names the step and what was wrong."""


@dataclass
class SelfTestReport:
    """What the self-test saw, for the CLI summary and for tests."""

    folder: Path
    stem: str = ""
    image_shape: tuple[int, ...] = ()
    device: str = ""
    painted_class: int = -1
    painted_pixels: int = 0
    timings: dict[str, float] = field(default_factory=dict)


class _Step:
    """Times a named step and turns any failure inside it into ``SelfTestError``."""

    def __init__(self, report: SelfTestReport, log: Callable[[str], None]) -> None:
        self.report, self.log = report, log

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        except SelfTestError:
            raise
        except Exception as exc:  # any failure becomes one line naming the step
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SelfTestError(f"{name}: {detail}") from exc
        dt = time.perf_counter() - t0
        self.report.timings[name] = dt
        self.log(f"self-test: {name} ok ({dt:.1f} s)")


def _wait(app: Any, done: Callable[[], bool], timeout_s: float, what: str,
          errors: list[str]) -> None:
    """Spin the Qt event loop until ``done()`` or an error was recorded or time runs out."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if errors:
            raise SelfTestError(f"{what}: {errors[0]}")
        if time.monotonic() > deadline:
            raise SelfTestError(f"{what}: nothing after {timeout_s:.0f} s")
        app.processEvents()
        time.sleep(0.01)
    if errors:
        raise SelfTestError(f"{what}: {errors[0]}")


def _drag(canvas: Any, points: list[tuple[float, float]]) -> None:
    """Press, move and release the left button along image-pixel ``points`` on the canvas."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    viewport = canvas.viewport()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mods = Qt.KeyboardModifier.NoModifier

    def send(kind: QEvent.Type, x: float, y: float, button: Any, buttons: Any) -> None:
        local = QPointF(canvas.mapFromScene(QPointF(x, y)))
        glob = QPointF(viewport.mapToGlobal(local.toPoint()))
        QApplication.sendEvent(viewport, QMouseEvent(kind, local, glob, button, buttons, mods))

    (x0, y0), *rest = points
    send(QEvent.Type.MouseButtonPress, x0, y0, left, left)
    for x, y in rest:
        send(QEvent.Type.MouseMove, x, y, none, left)
    send(QEvent.Type.MouseButtonRelease, *rest[-1], left, none)


@dataclass
class _Run:
    """What the steps share: the Qt app, the window under test and what went wrong in Qt."""

    app: Any
    report: SelfTestReport
    timeout_s: float
    errors: list[str] = field(default_factory=list)  # exceptions from Qt slots, via the hook
    ready: list[str] = field(default_factory=list)  # device text once the model is up
    window: Any = None

    def wait(self, done: Callable[[], bool], timeout_s: float, what: str) -> None:
        _wait(self.app, done, timeout_s, what, self.errors)


def run_self_test(*, timeout_s: float = 300.0, keep: bool = False,
                  log: Callable[[str], None] = print) -> SelfTestReport:
    """Run every step; raise ``SelfTestError`` (one-line message) on the first failure."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # headless on purpose, even with a display
    from PySide6.QtWidgets import QApplication

    from resunet_gui.core.demo import make_demo_project

    t_start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="resunet-selftest-"))
    report = SelfTestReport(folder=tmp / "demo")
    step = _Step(report, log)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "resunet-gui"])
    run = _Run(app, report, timeout_s)
    old_hook = sys.excepthook
    sys.excepthook = _record_into(run.errors)
    try:
        with step("create demo project"):
            make_demo_project(report.folder)
        with step("open main window"):
            _open_window(run, tmp / "settings.ini")
        with step("load model"):
            run.wait(lambda: bool(run.ready), timeout_s, "load model")
            report.device = run.ready[0]
        with step("run suggestion"):
            _run_suggestion(run)
        with step("paint stroke"):
            y, x = _paint_stroke(run)
        with step("save and verify mask"):
            _save_and_verify(run, y, x)
        with step("close"):
            _close(run)
    finally:
        sys.excepthook = old_hook
        if run.window is not None:  # a step failed: still release the project and threads
            try:
                run.window.shutdown()
                run.window.close()
            except Exception:  # noqa: BLE001 (already failing; the first error is the one to show)
                pass
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    report.timings["total"] = time.perf_counter() - t_start
    return report


def _record_into(errors: list[str]) -> Callable[[type[BaseException], BaseException, Any], None]:
    """An excepthook that records (and on request prints) exceptions raised in Qt slots."""
    def hook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        errors.append(f"{kind.__name__}: {exc}".splitlines()[0])
        if os.environ.get("RESUNET_SELFTEST_TRACEBACK"):
            traceback.print_exception(kind, exc, tb)

    return hook


def _open_window(run: _Run, settings: Path) -> None:
    from resunet_gui.app import build_window
    from resunet_gui.qt.preferences import Preferences

    prefs = Preferences(settings)  # never touch the user's settings
    prefs.auto_suggest = False  # the test presses "Suggest" itself
    run.window = window = build_window(prefs)
    if window.bridge is None:
        raise SelfTestError("open main window: the window has no model service")
    errors = run.errors
    window.bridge.engineReady.connect(lambda dev, _ver: run.ready.append(dev))
    window.bridge.engineFailed.connect(lambda msg: errors.append(f"model: {msg}"))
    window.suggestions.failed.connect(lambda msg: errors.append(f"suggestion: {msg}"))
    window.editor.saveStateChanged.connect(
        lambda text: errors.append(f"save {text}") if text.startswith("error") else None)
    window.show()
    if not window.open_folder(run.report.folder):
        raise SelfTestError("open main window: the demo project did not open")
    editor = window.editor
    run.wait(lambda: editor.document is not None, 30, "show first image")
    run.report.stem = window.editor.stem or ""


def _run_suggestion(run: _Run) -> None:
    window, report = run.window, run.report
    window.actions_by_name["suggest"].trigger()
    arrived: list[str] = []
    window.suggestions.suggestionArrived.connect(arrived.append)
    run.wait(lambda: report.stem in arrived, run.timeout_s, "run suggestion")
    suggestion = window.editor.document.suggestion
    labels = window.editor.document.labels
    if suggestion is None or suggestion.shape != labels.shape:
        raise SelfTestError("run suggestion: no suggestion of the image's size on the document")
    report.image_shape = tuple(labels.shape)


def _paint_stroke(run: _Run) -> tuple[int, int]:
    """Paint the first foreground class across the middle; returns a painted pixel (y, x)."""
    from resunet_gui.qt.tool_controller import Tool

    window, report = run.window, run.report
    project = window.editor.project
    if project is None:
        raise SelfTestError("paint stroke: the demo project is no longer open")
    classes = [c.id for c in project.classes if c.id not in (0, 255)]
    if not classes:
        raise SelfTestError("paint stroke: the demo project has no foreground class")
    report.painted_class = value = classes[0]
    window.palette_widget.select_id(value)
    window.tools.set_tool(Tool.BRUSH)
    window.tools.set_value(value)
    window.tools.set_radius(STROKE_RADIUS)
    window.canvas.fit()
    run.app.processEvents()
    h, w = window.editor.document.labels.shape
    y = h / 2
    xs = np.linspace(w * 0.25, w * 0.75, 12)
    _drag(window.canvas, [(float(x), y) for x in xs])
    run.app.processEvents()
    doc_labels = window.editor.document.labels
    row = doc_labels[int(y), int(w * 0.3):int(w * 0.7)]
    if not np.all(row == value):
        raise SelfTestError(f"paint stroke: the stroke did not reach the mask "
                            f"({int(np.sum(row == value))}/{row.size} pixels painted)")
    report.painted_pixels = int(np.sum(doc_labels == value))
    return int(y), int(w / 2)


def _save_and_verify(run: _Run, y: int, x: int) -> None:
    from resunet_gui.core.imageio import read_mask

    window = run.window
    window.editor.flush()
    mask_path = window.editor.project.mask_path(run.report.stem)
    expected = window.editor.document.labels.copy()

    def saved() -> bool:  # the save may finish on a writer thread
        return mask_path.is_file() and np.array_equal(read_mask(mask_path), expected)

    run.wait(saved, 10, f"save and verify mask ({mask_path.name} missing or stale)")
    if int(read_mask(mask_path)[y, x]) != run.report.painted_class:
        raise SelfTestError("save and verify mask: the painted class is not on disk")


def _close(run: _Run) -> None:
    window = run.window
    window.shutdown()
    window.close()
    window.deleteLater()
    run.window = None
    run.app.processEvents()
    if run.errors:
        raise SelfTestError(f"close: {run.errors[0]}")
