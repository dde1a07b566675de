"""Unexpected errors in the GUI: logged with their traceback, shown as a dialog that says
where the log is (so the user can send it), never a silent crash or a console traceback.

``sys.excepthook`` covers the GUI thread (Qt slots), ``threading.excepthook`` every other
thread; the latter is marshalled to the GUI thread through a queued signal.
"""
from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger("resunet_gui.crash")

ShowError = Callable[[str, str], None]


def error_text(exc_type: type[BaseException], exc: BaseException, log_file: Path | None) -> str:
    last = traceback.format_exception_only(exc_type, exc)[-1].strip()
    where = (f"The details are in the log file:\n{log_file}\nPlease attach it to a bug report."
             if log_file is not None else "No log file could be written.")
    return f"An unexpected error occurred:\n{last}\n\nYour saved annotations are safe.\n{where}"


class ErrorReporter(QObject):
    """Installs both hooks; ``show(title, text)`` is a message box unless replaced (tests)."""

    reported = Signal(str, str)

    def __init__(self, log_file: Path | None, parent_widget: QWidget | None = None,
                 show: ShowError | None = None) -> None:
        super().__init__()
        self.log_file = log_file
        self.parent_widget = parent_widget
        self.show = show or self._message_box
        self.reported.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self._old: tuple[Any, Any] | None = None

    def install(self) -> ErrorReporter:
        self._old = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_excepthook
        return self

    def uninstall(self) -> None:
        if self._old is not None:
            sys.excepthook, threading.excepthook = self._old
            self._old = None

    def excepthook(self, exc_type: type[BaseException], exc: BaseException,
                   tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("unexpected error", exc_info=(exc_type, exc, tb))
        self.reported.emit("Unexpected error", error_text(exc_type, exc, self.log_file))

    def thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "?"
        log.error("unexpected error in thread %s", name,
                  exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
        self.reported.emit("Unexpected error",
                           error_text(args.exc_type, args.exc_value, self.log_file))

    def _show(self, title: str, text: str) -> None:
        self.show(title, text)

    def _message_box(self, title: str, text: str) -> None:
        QMessageBox.critical(self.parent_widget, title, text)
