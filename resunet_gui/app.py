"""Wires the Qt GUI: builds and shows the main window first, then starts the model behind it.

Nothing here imports torch: the model service's worker thread builds the engine (and pays
for ``import torch``) after the window is on screen, so start-up feels like a light app.
"""
from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from resunet_gui.engine.settings import EngineConfig
from resunet_gui.qt.main_window import MainWindow
from resunet_gui.qt.preferences import Preferences
from resunet_gui.qt.service_bridge import ServiceBridge

EngineFactoryFor = Callable[[Any], Callable[[], Any]]
log = logging.getLogger(__name__)


def default_engine_factory(project: Any, prefs: Preferences | None = None
                           ) -> Callable[[], Any]:
    """Engine for ``project`` built lazily on the model service's worker thread, with the
    device and weights chosen in Preferences (read now: a change applies to the next folder)."""
    config = EngineConfig() if prefs is None else EngineConfig(device=prefs.device,
                                                               weights=prefs.weights)

    def build() -> Any:
        from resunet_gui.engine.project_engine import ProjectEngine  # imports torch

        return ProjectEngine(project, config)

    return build


def build_window(prefs: Preferences | None = None,
                 engine_factory_for: EngineFactoryFor | None = default_engine_factory,
                 ) -> MainWindow:
    """Create the window and its (not yet started) model bridge.

    ``engine_factory_for(project)`` returns the callable the service runs on its worker;
    pass None for a window with no model (suggestions disabled).
    """
    window = MainWindow(prefs)
    if engine_factory_for is default_engine_factory:
        engine_factory_for = functools.partial(default_engine_factory, prefs=window.prefs)
    if engine_factory_for is not None:
        bridge = ServiceBridge(window)
        window.attach_bridge(bridge, engine_factory_for)
    return window


def run(folder: str | Path | None = None, *, argv: list[str] | None = None) -> int:
    """Start the Qt application; ``folder`` opens right after the window shows."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from resunet_gui.core.logs import install_file_log
    from resunet_gui.qt.error_report import ErrorReporter

    t0 = time.perf_counter()
    log_file = install_file_log()
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("resunet-gui")
    app.setOrganizationName("resunet-gui")
    icon = Path(__file__).parent / "resources" / "resunet-gui.svg"
    if icon.is_file():
        QApplication.setWindowIcon(QIcon(str(icon)))
    window = build_window()
    reporter = ErrorReporter(log_file, window).install()
    from resunet_gui import __version__

    log.info("resunet-gui %s started; opening %s", __version__, folder or "no folder")
    window.show()
    window.statusBar().showMessage(f"ready in {time.perf_counter() - t0:.2f} s", 3000)
    if folder is not None:
        QTimer.singleShot(0, lambda: window.open_folder(folder))
    code = app.exec()
    window.shutdown()
    reporter.uninstall()
    return int(code)
