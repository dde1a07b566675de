"""Thin Qt face of ``engine.service.ModelService``: callbacks in, signals out.

The service's callbacks run on its worker thread; emitting a signal from there queues the
call onto the GUI thread, so no slot here ever touches torch or blocks the event loop.
The model (and torch) is created on the worker thread by ``engine_factory``.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from resunet_gui.engine.requests import ImportedVersion, VersionListing
from resunet_gui.engine.service import ImageSource, ModelService

log = logging.getLogger(__name__)


class ServiceBridge(QObject):
    """Owns one ``ModelService`` at a time (one per open project)."""

    engineReady = Signal(str, str)  # device text, model version ("" when none)
    engineFailed = Signal(str)
    engineWarning = Signal(str)  # e.g. a damaged model version was skipped
    resultReady = Signal(object)  # engine.service.SuggestionResult
    requestFailed = Signal(int, str)
    batchProgress = Signal(int, int, int)  # batch id, done, total
    trainingStatus = Signal(object)  # engine.service.TrainingStatus
    modelChanged = Signal(object)
    suggestionProgress = Signal(int, str, int, int)  # request id, image key, tiles done, total

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service: ModelService | None = None
        self.device_text = ""

    @property
    def running(self) -> bool:
        return self.service is not None

    def start(self, engine_factory: Callable[[], Any], **service_kwargs: Any) -> None:
        """Start a service whose worker builds the engine (imports torch) off the GUI thread."""
        self.shutdown()

        def build() -> Any:
            try:
                engine = engine_factory()
            except Exception as exc:
                self.engineFailed.emit(str(exc) or type(exc).__name__)
                raise
            device = str(getattr(engine, "device", "") or "")
            self.device_text = device
            self.engineReady.emit(device, engine.model_version() or "")
            warnings = list(getattr(engine, "warnings", None) or [])
            if warnings:
                self.engineWarning.emit("Model: " + "; ".join(warnings))
            return engine

        self.service = ModelService(
            build,
            on_result=self._deliver_result,
            on_error=self.requestFailed.emit,
            on_progress=self.batchProgress.emit,
            on_training_status=self.trainingStatus.emit,
            on_model_changed=self.modelChanged.emit,
            on_suggestion_progress=self.suggestionProgress.emit,
            **service_kwargs,
        )

    def _deliver_result(self, result: Any) -> None:
        """On the service thread: the GUI keeps class probabilities in float16 (half the
        memory per cached suggestion); converting a 2048x2048 result takes 50-100 ms, which
        on the GUI thread was the longest stall while a suggestion arrived."""
        self.resultReady.emit(with_half_probs(result))

    def shutdown(self, timeout: float = 300.0) -> None:
        """Stop the worker (after its current tile/chunk) and wait for it.

        The wait is long on purpose: a worker left inside torch at interpreter exit aborts
        the process. Callers hide their window first."""
        if self.service is not None:
            service, self.service = self.service, None
            if not service.shutdown(timeout):
                log.warning("model service did not stop within %.0f s", timeout)

    # ---- pass-throughs (no-ops while no service runs) ---------------------------------
    def request_suggestion(self, key: str, image: ImageSource, generation: int,
                           prefetch: bool = False) -> int | None:
        if self.service is None:
            return None
        return self.service.request_suggestion(key, image, generation, prefetch=prefetch)

    def request_batch(self, items: list[tuple[str, ImageSource]], generation: int) -> int | None:
        return None if self.service is None else self.service.request_batch(items, generation)

    def cancel(self, request_id: int | None) -> None:
        if self.service is not None and request_id is not None:
            self.service.cancel(request_id)

    def notify_done(self, stem: str) -> None:
        if self.service is not None:
            self.service.notify_done(stem)

    def set_interactive(self, on: bool) -> None:
        if self.service is not None:
            self.service.set_interactive(on)

    # ---- version control (run on the worker; answers come back through on_done) ---------
    def list_versions(self, on_done: Callable[[VersionListing], None]) -> int | None:
        return None if self.service is None else self.service.list_versions(on_done)

    def rollback(self, version: str, on_done: Callable[[Any], None] | None = None) -> int | None:
        """The served model changes; ``modelChanged`` announces it."""
        return None if self.service is None else self.service.rollback(version, on_done)

    def export_version(self, version: str, dest: str,
                       on_done: Callable[[Any], None] | None = None) -> int | None:
        return None if self.service is None else self.service.export_version(version, dest,
                                                                             on_done)

    def load_checkpoint(self, path: str, on_done: Callable[[ImportedVersion], None] | None = None
                        ) -> int | None:
        return None if self.service is None else self.service.load_checkpoint(path, on_done)

    def set_mode(self, mode: str, on_done: Callable[[Any], None] | None = None) -> int | None:
        return None if self.service is None else self.service.set_mode(mode, on_done)

    def pause_training(self, paused: bool) -> None:
        if self.service is not None:
            if paused:
                self.service.pause_training()
            else:
                self.service.resume_training()


def with_half_probs(result: Any) -> Any:
    """``result`` with its prediction's probabilities as float16 (unchanged when it has none
    or they are float16 already)."""
    pred = getattr(result, "prediction", None)
    probs = getattr(pred, "probs", None)
    if probs is None or probs.dtype == np.float16 or not dataclasses.is_dataclass(pred):
        return result
    half = dataclasses.replace(pred, probs=probs.astype(np.float16))  # type: ignore[type-var]
    return dataclasses.replace(result, prediction=half)
