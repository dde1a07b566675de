"""Suggestion flow on the GUI side: current image, prefetch of the next, "Suggest all".

Requests carry the image stem and a generation number that grows with every image shown;
a result is drawn only if it is for the image on screen and not older than it was opened.
Model inputs are built on the service's worker (a callable is queued, not an array), so
the GUI thread never converts or decodes for the model.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from resunet_gui.core.types import ImageStatus
from resunet_gui.qt.editor import Editor, Suggestion
from resunet_gui.qt.image_list import ImageListModel
from resunet_gui.qt.panels import SuggestPanel
from resunet_gui.qt.service_bridge import ServiceBridge
from resunet_gui.qt.suggest_progress import TileProgress


def _loader(path: Any):  # noqa: ANN202
    """A callable the model worker runs: decoding happens there, not on the GUI thread."""

    def load() -> np.ndarray:
        from resunet_gui.core.imageio import read_image

        return read_image(path).model_array()

    return load


def entropy_display(entropy: np.ndarray) -> np.ndarray:
    """Normalised per-pixel entropy in [0, 1] -> uint8 0..255 for the uncertainty layer."""
    out = np.clip(entropy * 255.0, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(out)


class SuggestionController(QObject):
    """Decides when to ask the model service and what to do with its answers."""

    suggestionArrived = Signal(str)  # stem of a result that was drawn
    resultDropped = Signal(str)  # stem of a result that was not for the image on screen
    failed = Signal(str)

    def __init__(self, editor: Editor, images: ImageListModel, panel: SuggestPanel,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.editor, self.images, self.panel = editor, images, panel
        self.bridge: ServiceBridge | None = None
        self.canvas: Any = None  # CanvasView, for the uncertainty overlay
        self.generation = 0
        self.auto_suggest = True
        self.hold_automatic = False  # no trained model yet: only the Suggest button asks
        self._current_id: int | None = None
        self._current_stem: str | None = None
        self._prefetch_id: int | None = None
        self._batch_id: int | None = None
        self._show_uncertainty = False
        self._uncertainty_view: np.ndarray | None = None
        self._rescore_id: int | None = None
        # set by qt/newest_model.py: results from a version no longer served are dropped
        self.accepts_version: Callable[[str | None], bool] = lambda _version: True
        panel.suggestRequested.connect(lambda: self.request_current(force=True))
        panel.suggestAllRequested.connect(self.suggest_all)
        self.tiles = TileProgress(panel)
        panel.cancelRequested.connect(self.cancel_clicked)
        panel.autoSuggestToggled.connect(self._set_auto)
        self.auto_suggest = panel.auto.isChecked()

    def _set_auto(self, on: bool) -> None:
        self.auto_suggest = on

    def attach(self, bridge: ServiceBridge) -> None:
        self.bridge = bridge
        bridge.resultReady.connect(self._result)
        bridge.requestFailed.connect(self._failed)
        bridge.batchProgress.connect(self._batch_progress)
        bridge.suggestionProgress.connect(self._tile_progress)
        bridge.engineReady.connect(lambda *_: self.request_current())

    # ---- events from the window ------------------------------------------------------
    def project_opened(self, project: Any) -> None:
        self._current_id = self._prefetch_id = self._batch_id = None

    def image_shown(self, stem: str) -> None:
        self.generation += 1
        self._show_uncertainty_layer()
        if self.auto_suggest:
            self.request_current()

    def image_done(self, stem: str | None) -> None:
        if self.bridge is not None and stem:
            self.bridge.notify_done(stem)

    # ---- requests ----------------------------------------------------------------------
    def request_current(self, force: bool = False) -> int | None:
        ed = self.editor
        if self.bridge is None or not self.bridge.running or ed.image is None or ed.stem is None:
            return None
        if self.hold_automatic and not force:
            return None
        if not force and ed.stem in ed.suggestions:
            self._prefetch_next()
            return None
        if not force and self._current_id is not None and self._current_stem == ed.stem:
            return self._current_id  # already asked (e.g. before the model finished loading)
        self.tiles.finish()  # a previous image's tile progress
        self._current_id = self.bridge.request_suggestion(
            ed.stem, ed.image.model_array, self.generation)
        self._current_stem = ed.stem
        self.panel.set_busy(True)
        return self._current_id

    def prefetch_next(self) -> None:
        self._prefetch_next()

    def rescore(self, stems: list[str]) -> None:
        """Recompute the list's uncertainty of ``stems`` at batch priority (not cached)."""
        ed = self.editor
        if self.bridge is None or ed.project is None or not stems:
            return
        self.bridge.cancel(self._rescore_id)
        items = [(s, _loader(ed.project.image_path(s))) for s in stems]
        self._rescore_id = self.bridge.request_batch(items, self.generation)

    def _prefetch_next(self) -> None:
        ed = self.editor
        if self.bridge is None or ed.project is None or ed.stem is None:
            return
        stems = self.images.stems
        try:
            i = stems.index(ed.stem)
        except ValueError:
            return
        for stem in stems[i + 1:i + 2]:
            if stem not in ed.suggestions and self.images.error(stem) is None:
                self._prefetch_id = self.bridge.request_suggestion(
                    stem, _loader(ed.project.image_path(stem)), self.generation, prefetch=True)

    def suggest_all(self) -> None:
        ed = self.editor
        if self.bridge is None or ed.project is None:
            return
        todo = [s for s in self.images.stems
                if self.images.status(s) == ImageStatus.NEW and self.images.error(s) is None]
        if not todo:
            self.panel.eta.setText("Every image already has a suggestion or labels")
            return
        items = [(s, _loader(ed.project.image_path(s))) for s in todo]
        self._batch_id = self.bridge.request_batch(items, self.generation)
        self.panel.batch_started(len(items))

    def cancel_batch(self) -> None:
        if self.bridge is not None and self._batch_id is not None:
            self.bridge.cancel(self._batch_id)
            self._batch_id = None
            self.panel.batch_finished(cancelled=True)

    def cancel_clicked(self) -> None:
        """Cancel: the batch when one runs, else the current image's suggestion (its
        finished tiles stay in the engine, so asking again resumes)."""
        if self._batch_id is not None:
            self.cancel_batch()
            return
        if self.bridge is not None and self._current_id is not None:
            self.bridge.cancel(self._current_id)
            self._current_id = self._current_stem = None
            self.panel.set_busy(False)
            self.tiles.finish("Suggestion cancelled; finished tiles are kept")

    def cancel_all(self) -> None:
        if self.bridge is not None:
            for rid in (self._current_id, self._prefetch_id):
                self.bridge.cancel(rid)
        self.cancel_batch()
        self._current_id = self._prefetch_id = None
        self.panel.set_busy(False)
        self.tiles.finish()

    def shutdown(self) -> None:
        self.cancel_all()
        if self.bridge is not None:
            self.bridge.shutdown()

    # ---- results -----------------------------------------------------------------------
    def _result(self, result: Any) -> None:
        pred = result.prediction
        if result.batch_id is not None and result.batch_id == self._rescore_id:
            self.images.set_uncertainty(result.image_key, float(pred.uncertainty))
            return
        probs = getattr(pred, "probs", None)
        sugg = Suggestion(result.image_key, pred.mask, float(pred.uncertainty),
                          getattr(pred, "entropy", None), result.model_version,
                          None if probs is None else probs.astype(np.float16, copy=False))
        if result.request_id == self._current_id or (
                result.priority == 0 and result.image_key == self._current_stem):
            self._current_id = self._current_stem = None
            self.panel.set_busy(False)
            self.tiles.finish()
        if not self.accepts_version(result.model_version):
            self.resultDropped.emit(sugg.stem)
            return
        self.images.set_uncertainty(sugg.stem, sugg.uncertainty, sugg.model_version)
        current = sugg.stem == self.editor.stem and result.generation >= self.generation - (
            0 if result.priority == 0 else 1)
        if sugg.stem == self.editor.stem and not current:
            self.resultDropped.emit(sugg.stem)
            return
        if self.editor.add_suggestion(sugg):
            self._show_uncertainty_layer()
            self.suggestionArrived.emit(sugg.stem)
            self._prefetch_next()
        else:
            self.resultDropped.emit(sugg.stem)

    def _failed(self, request_id: int, message: str) -> None:
        if request_id == self._current_id:
            self._current_id = None
            self.panel.set_busy(False)
            self.tiles.finish()
            self.failed.emit(message)

    def _tile_progress(self, request_id: int, _key: str, done: int, total: int) -> None:
        if request_id == self._current_id and self._batch_id is None:
            self.tiles.update(done, total)

    def _batch_progress(self, batch_id: int, done: int, total: int) -> None:
        if batch_id != self._batch_id:
            return
        self.panel.batch_progress(done, total)
        if done >= total:
            self._batch_id = None
            self.panel.batch_finished(cancelled=False)

    # ---- uncertainty overlay -------------------------------------------------------------
    def show_uncertainty(self, on: bool) -> None:
        self._show_uncertainty = on
        self._show_uncertainty_layer()

    def _show_uncertainty_layer(self) -> None:
        if self.canvas is None:
            return
        layer = self.canvas.uncertainty_layer
        sugg = self.editor.suggestions.get(self.editor.stem or "")
        if not self._show_uncertainty or sugg is None or sugg.entropy is None:
            layer.setVisible(False)
            return
        self._uncertainty_view = entropy_display(sugg.entropy)
        if self._uncertainty_view.shape != self.canvas.label_layer.array.shape:
            layer.setVisible(False)
            return
        layer.set_array(self._uncertainty_view)
        layer.setVisible(True)
