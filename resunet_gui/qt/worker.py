"""One small way to run a blocking function off the GUI thread (superqt-style signals).

``create_worker(fn, *args, **kwargs)`` returns a :class:`FunctionWorker`; ``start()`` runs
``fn`` on a daemon thread. Signals arrive on the GUI thread (the worker object lives
there, so emission from the thread is queued): ``started``, ``progress(done, total)``,
``returned(result)``, ``errored(exception)``, then always ``finished``. ``fn`` reports
progress and checks for cancellation through the keyword arguments it asks for (by name,
or with ``**kwargs``): ``progress=`` (a ``(done, total)`` callable) and ``should_cancel=``
(a ``() -> bool``).

``GuiCallback(fn)`` is the other direction: a callable that a lower layer (the autosave
``Debouncer`` of an edit session, on its timer thread) may call from any thread; ``fn`` runs
on the GUI thread (at once when called there, queued otherwise). Core callbacks reach Qt
only this way.
"""
from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)


class FunctionWorker(QObject):
    started = Signal()
    progress = Signal(int, int)
    returned = Signal(object)
    errored = Signal(object)
    finished = Signal()

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._fn, self._args, self._kwargs = fn, args, dict(kwargs)
        self._abort = threading.Event()
        self._thread: threading.Thread | None = None
        params = inspect.signature(fn).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        if takes_any or "progress" in params:
            self._kwargs.setdefault("progress", self.progress.emit)
        if takes_any or "should_cancel" in params:
            self._kwargs.setdefault("should_cancel", self._abort.is_set)

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def abort_requested(self) -> bool:
        return self._abort.is_set()

    def start(self) -> FunctionWorker:
        if self._thread is not None:
            raise RuntimeError("a worker runs once; create another")
        self._thread = threading.Thread(target=self._work, daemon=True,
                                        name=f"resunet-worker-{getattr(self._fn, '__name__', 'fn')}")
        self._thread.start()
        return self

    def quit(self) -> None:
        """Ask ``fn`` to stop (it sees ``should_cancel()`` turn True)."""
        self._abort.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the thread ends; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.is_running

    def _work(self) -> None:
        self.started.emit()
        try:
            result = self._fn(*self._args, **self._kwargs)
        except Exception as exc:  # noqa: BLE001 - handed to the GUI thread as a signal
            log.debug("worker %r failed", self._fn, exc_info=True)
            self.errored.emit(exc)
        else:
            self.returned.emit(result)
        finally:
            self.finished.emit()


def create_worker(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> FunctionWorker:
    """A not-yet-started worker for ``fn(*args, **kwargs)``."""
    return FunctionWorker(fn, *args, **kwargs)


class GuiCallback(QObject):
    """``fn`` wrapped so calling it from any thread runs it on this object's (GUI) thread."""

    _called = Signal(tuple)

    def __init__(self, fn: Callable[..., None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self._called.connect(self._run)  # auto: direct on the GUI thread, else queued

    def __call__(self, *args: Any) -> None:
        self._called.emit(args)

    @Slot(tuple)
    def _run(self, args: tuple) -> None:
        self._fn(*args)
