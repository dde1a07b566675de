"""An unexpected error on any thread is logged to the rotating file and shown in a dialog
that names the log's location (issue 17, item 11)."""
from __future__ import annotations

import logging
import sys
import threading

from resunet_gui.core.logs import install_file_log
from resunet_gui.qt.error_report import ErrorReporter


def test_error_in_a_worker_thread_shows_a_dialog_with_the_log_location(qtbot, tmp_path):
    log_file = install_file_log(tmp_path / "logs" / "resunet-gui.log")
    shown: list[tuple[str, str]] = []
    reporter = ErrorReporter(log_file, show=lambda title, text: shown.append((title, text)))
    reporter.install()
    try:
        def boom() -> None:
            raise ValueError("tile index out of range")

        t = threading.Thread(target=boom, name="worker")
        t.start()
        t.join()
        qtbot.waitUntil(lambda: bool(shown), timeout=5000)
        try:
            raise KeyError("gui slot")
        except KeyError:
            sys.excepthook(*sys.exc_info())
        qtbot.waitUntil(lambda: len(shown) == 2, timeout=5000)
    finally:
        reporter.uninstall()
        for h in list(logging.getLogger().handlers):
            if getattr(h, "baseFilename", None) == str(log_file):
                logging.getLogger().removeHandler(h)
                h.close()
    assert "tile index out of range" in shown[0][1] and str(log_file) in shown[0][1]
    assert "gui slot" in shown[1][1]
    text = log_file.read_text()
    assert "Traceback" in text and "ValueError: tile index out of range" in text
    assert sys.excepthook is not reporter.excepthook
