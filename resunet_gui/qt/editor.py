"""The editing workspace: which project and image are open, and their edit session.

Qt-side glue only: the project (core), the edit session with its journal and autosave
(annotation) and the model service (engine, via the bridge) do the work; this class keeps
them in step with the canvas and the image list, and drops stale suggestions.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from resunet_gui.core.errors import ResunetError
from resunet_gui.core.types import BBox, ImageStatus

if TYPE_CHECKING:  # imported lazily: cv2/tifffile load after the window is on screen
    from resunet_gui.core.imageio import LoadedImage
    from resunet_gui.core.project import Project

PREDICTION_CACHE = 4


@dataclass
class Suggestion:
    """What the GUI keeps of a prediction: the mask and the uncertainty, not the probs."""

    stem: str
    mask: np.ndarray
    uncertainty: float | None
    entropy: np.ndarray | None
    model_version: str | None = None
    probs: np.ndarray | None = None  # K x H x W (float16) for click to fix


class Editor(QObject):
    """Owns the open ``Project``, the current ``LoadedImage`` and its ``EditSession``."""

    projectOpened = Signal(object)  # Project
    projectClosed = Signal()
    imageShown = Signal(str)
    imageFailed = Signal(str, str)
    statusChanged = Signal(str, str)  # stem, ImageStatus value
    suggestionShown = Signal(str)
    saveStateChanged = Signal(str)  # "saved" / "saving..." / "error: ..."
    documentChanged = Signal(object)  # BBox | None  (None = whole image)
    recovered = Signal(str, int)  # stem, steps replayed from the journal

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.stem: str | None = None
        self.image: LoadedImage | None = None
        self.session: Any = None  # annotation.session.EditSession
        self.suggestions: dict[str, Suggestion] = {}

    # ---- project ---------------------------------------------------------------------
    def open_project(self, folder: str | Path) -> Project:
        """Open ``folder``; raises ``ResunetError`` subclasses with a message for the user."""
        from resunet_gui.core.project import Project

        self.close_project()
        self.project = Project.open(Path(folder))
        self.projectOpened.emit(self.project)
        return self.project

    def close_project(self) -> None:
        """Save the open image and release the project's lock."""
        self.close_image()
        if self.project is not None:
            try:
                self.project.save()
            finally:
                self.project.close()
                self.project = None
                self.suggestions.clear()
                self.projectClosed.emit()

    # ---- images ----------------------------------------------------------------------
    @property
    def document(self) -> Any:
        return None if self.session is None else self.session.document

    def close_image(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            # flushes the debounced save; on failure the journal keeps the edits
            if not session.close() and session.last_error is not None:
                self.saveStateChanged.emit(f"error: {session.last_error}")
        self.stem = None
        self.image = None

    def show(self, stem: str) -> bool:
        """Make ``stem`` current. A bad image emits ``imageFailed`` and returns False."""
        from resunet_gui.core.imageio import read_image

        assert self.project is not None
        self.close_image()
        self.stem = stem
        try:
            self.image = read_image(self.project.image_path(stem))
            self.session = self._open_session(stem)
        except ResunetError as exc:
            self.image = None
            self.imageFailed.emit(stem, str(exc))
            return False
        cached = self.suggestions.get(stem)
        if cached is not None:
            self.document.set_suggestion(cached.mask)
        self.imageShown.emit(stem)
        steps = int(getattr(self.session, "recovered_steps", 0) or 0)
        if steps:
            self.recovered.emit(stem, steps)
        return True

    def _open_session(self, stem: str) -> Any:
        from resunet_gui.annotation.session import EditSession

        session = EditSession(self.project, stem, on_save_state=self._on_save_state)
        session.document.add_listener(self._on_step)
        return session

    def _on_save_state(self, state: str, message: str = "") -> None:
        # May run on the autosave timer thread: a queued signal carries it to the GUI.
        text = {"saving": "saving...", "saved": "saved"}.get(state, f"error: {message}")
        self.saveStateChanged.emit(text)

    def _on_step(self, bbox: BBox | None, _patch: object = None) -> None:
        # The session (listening first) has already updated the project's status.
        self.documentChanged.emit(bbox)
        if self.stem is not None and self.project is not None:
            self.statusChanged.emit(self.stem, self.project.entry(self.stem).status.value)

    def mark_done(self) -> bool:
        """Save now and mark the image done; False (with a save-state error) if saving failed."""
        if self.session is None or self.stem is None:
            return False
        sugg = self.suggestions.get(self.stem)
        ok = bool(self.session.mark_done(sugg.model_version if sugg is not None else None))
        if ok:
            self.statusChanged.emit(self.stem, ImageStatus.DONE.value)
        return ok

    # ---- crash recovery --------------------------------------------------------------
    def pending_recovery(self) -> list[str]:
        """Stems with journalled edits left by an unexpected exit."""
        if self.project is None:
            return []
        return [s for s in self.project.journal.pending() if s in set(self.project.stems())]

    def recover(self, stems: list[str], keep: bool) -> int:
        """Replay and save (keep) or discard the journals of ``stems``; returns steps kept."""
        from resunet_gui.annotation.session import EditSession

        assert self.project is not None
        total = 0
        for stem in stems:
            if not keep:
                self.project.journal.clear(stem)
                continue
            session = EditSession(self.project, stem, on_save_state=self._on_save_state)
            total += session.recovered_steps
            session.close()
        return total

    # ---- suggestions -----------------------------------------------------------------
    def add_suggestion(self, sugg: Suggestion) -> bool:
        """Store a prediction; draw it only if it is for the image on screen."""
        self.suggestions[sugg.stem] = sugg
        while len(self.suggestions) > PREDICTION_CACHE:
            oldest = next(iter(self.suggestions))
            if oldest == self.stem:
                self.suggestions[oldest] = self.suggestions.pop(oldest)
                oldest = next(iter(self.suggestions))
            self.suggestions.pop(oldest)
        if self.project is not None and self.project.entry(sugg.stem).status == ImageStatus.NEW:
            # list only: suggestions live in memory, and a project.json write per batch
            # result would stall the GUI thread on big folders
            self.statusChanged.emit(sugg.stem, ImageStatus.SUGGESTED.value)
        if sugg.stem != self.stem or self.document is None:
            return False
        if sugg.mask.shape != self.document.labels.shape:
            return False
        self.document.set_suggestion(sugg.mask)
        self.suggestionShown.emit(sugg.stem)
        return True

    def accept_suggestion(self) -> BBox | None:
        doc = self.document
        if doc is None or doc.suggestion is None:
            return None
        return doc.accept_suggestion()  # listeners repaint

    def undo(self) -> BBox | None:
        return None if self.document is None else self.document.undo()

    def redo(self) -> BBox | None:
        return None if self.document is None else self.document.redo()

    def flush(self) -> None:
        """Write the current mask now (used before export, close and tests)."""
        if self.session is not None:
            self.session.save_now()
