"""Corrections that fix regions: click to fix (a tool) and refine from my strokes (an action).

Click to fix is ``Tool.FIX`` in the tool controller; this module hands it the class
probabilities of the suggestion on screen. Refine sends the image and the user's strokes
to the model service (``ModelService.request_refine``: queued and pre-empted like a
suggestion) and applies the answer with ``MaskDocument.refine_unpainted``: one undo step,
painted pixels unchanged. Neither runs torch on the GUI thread.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject

from resunet_gui.qt.service_bridge import ServiceBridge

PAINTED = 2  # provenance CORRECTED and SCRATCH: what the user set by hand


class RegionTools(QObject):
    """Supplies click to fix with probabilities and runs "refine from my strokes"."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.bridge: ServiceBridge | None = None
        self._refine_id: int | None = None
        self._refine_stem: str | None = None
        window.tools.fix_probs = self.current_probs

    def attach(self, bridge: ServiceBridge) -> None:
        self.bridge = bridge
        bridge.resultReady.connect(self._result)
        bridge.requestFailed.connect(self._failed)

    def current_probs(self) -> np.ndarray | None:
        """Probabilities of the suggestion for the image on screen (None if not there yet)."""
        ed = self.window.editor
        sugg = ed.suggestions.get(ed.stem or "")
        probs = getattr(sugg, "probs", None)
        if probs is None or ed.document is None or probs.shape[1:] != ed.document.shape:
            self._say("Click to fix needs the suggestion of this image: wait for it or press S")
            return None
        return probs

    def refine(self) -> int | None:
        """Ask the model to re-predict this image from the strokes painted so far."""
        ed = self.window.editor
        doc, service = ed.document, getattr(self.bridge, "service", None)
        if doc is None or ed.image is None or service is None:
            return None
        painted = doc.provenance >= PAINTED
        if not painted.any():
            self._say("Refine uses your strokes: paint or erase a few first")
            return None
        from resunet_gui.engine.refine import Strokes

        strokes = Strokes(doc.labels.copy(), painted)
        self._refine_stem = ed.stem
        self._refine_id = service.request_refine(ed.stem, ed.image.model_input, strokes,
                                                 self.window.suggestions.generation)
        self._say("Refining this image from your strokes...", 0)
        return self._refine_id

    def _result(self, result: Any) -> None:
        if result.request_id != self._refine_id:
            return
        self._refine_id = None
        ed = self.window.editor
        if ed.document is None or ed.stem != self._refine_stem:
            return
        if result.mask.shape == ed.document.shape:
            ed.document.refine_unpainted(result.mask)
            self._say("Refined from your strokes (Ctrl+Z undoes it)")

    def _failed(self, request_id: int, message: str) -> None:
        if request_id == self._refine_id:
            self._refine_id = None
            self._say(f"Refine failed: {message}")

    def _say(self, text: str, ms: int = 6000) -> None:
        self.window.statusBar().showMessage(text, ms)
