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

from resunet_gui.core.errors import ResunetError, StorageError
from resunet_gui.core.types import BBox, ImageStatus
from resunet_gui.qt.worker import GuiCallback

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
    warning = Signal(str)  # something the user should know about the image on screen

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.stem: str | None = None
        self.image: LoadedImage | None = None
        self.session: Any = None  # annotation.session.EditSession
        self.suggestions: dict[str, Suggestion] = {}
        self.unsaved: dict[str, Any] = {}  # stem -> session whose save failed (kept, retried)
        # the autosave reports from its timer thread; this hands the report to the GUI thread
        self._save_state_callback = GuiCallback(self._on_save_state, self)

    # ---- project ---------------------------------------------------------------------
    def open_project(self, folder: str | Path, *, recover: bool = False) -> Project:
        """Open ``folder``; raises ``ResunetError`` subclasses with a message for the user.

        ``recover`` moves a corrupt project.json aside and rebuilds the state from the masks.
        """
        from resunet_gui.core.project import Project

        self.close_project()
        self.project = Project.open(Path(folder), recover=recover)
        self.projectOpened.emit(self.project)
        return self.project

    def close_project(self) -> None:
        """Save the open image and release the project's lock."""
        self.close_image()
        if self.project is not None:
            unsaved = [] if self.retry_saves() else [
                s for s, session in self.unsaved.items() if not self._journal_holds(session)]
            for session in self.unsaved.values():
                session.close()  # one last try, then its autosave timer stops
            try:
                self.project.close()  # saves the state unless read-only; releases the lock
            finally:
                self.unsaved.clear()
                self.project = None
                self.suggestions.clear()
                self.projectClosed.emit()
            if unsaved:
                raise StorageError(f"the edits of {', '.join(unsaved)} could not be saved; "
                                   "the journal keeps what it could write")

    # ---- images ----------------------------------------------------------------------
    @property
    def document(self) -> Any:
        return None if self.session is None else self.session.document

    @property
    def editable(self) -> bool:
        """False while the project is read-only: no edit may be accepted and then lost."""
        return self.project is not None and not self.project.read_only

    def close_image(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            session.document.remove_listener(self._on_step)
            if session.save_now() or not self.editable:
                session.close()  # read-only: edits recovered from a crash stay in the journal
            else:  # keep the edits in memory (the journal has them if it could write)
                self.unsaved[session.stem] = session
                if session.last_error is not None:
                    self.saveStateChanged.emit(f"error: {session.last_error}")
        self.stem = None
        self.image = None

    def _journal_holds(self, session: Any) -> bool:
        """True when the saved mask plus the journal give the labels in memory: then the
        next open restores them and closing loses nothing."""
        assert self.project is not None
        try:
            base = self.project.read_mask_checked(session.stem, unknown="keep")
            if base is None:
                base = np.zeros(self.project.image_size(session.stem), np.uint8)
            self.project.journal.replay(session.stem, base)
        except (ResunetError, OSError):
            return False
        return bool(np.array_equal(base, session.document.labels))

    def unsaved_stems(self) -> list[str]:
        return list(self.unsaved)

    def retry_saves(self) -> bool:
        """Save the open image and every image whose save failed; True when all are on disk."""
        current = self.session  # never cut a stroke the user is drawing: next time
        ok = current is None or (not current.document.in_stroke and current.save_now())
        for stem, session in list(self.unsaved.items()):
            if session.save_now() or not self.editable:
                session.close()  # read-only: edits recovered from a crash stay in the journal
                del self.unsaved[stem]
        return ok and not self.unsaved

    def reopen_current(self) -> None:
        """Open the current image again (after the project became writable)."""
        if self.stem is not None:
            self.show(self.stem)

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
        self._warn_unknown_values(stem)
        steps = int(getattr(self.session, "recovered_steps", 0) or 0)
        if steps:
            self.recovered.emit(stem, steps)
        return True

    def _warn_unknown_values(self, stem: str) -> None:
        """Mask values that are no class: the same check as training and export use."""
        from resunet_gui.core.mask_check import describe_unknown, unknown_values

        assert self.project is not None
        ids = [c.id for c in self.project.classes]
        bad = unknown_values(self.document.labels, ids, self.project.ignore_index)
        if bad:
            self.warning.emit(f"{describe_unknown(stem, bad, ids)}: training ignores those "
                              "pixels and export refuses them unless told to ignore them")

    def _open_session(self, stem: str) -> Any:
        from resunet_gui.annotation.session import EditSession

        session = self.unsaved.pop(stem, None)  # unsaved edits of this image, still in memory
        if session is None:
            if self.project is None:
                raise RuntimeError(f"cannot open {stem}: no project is open")
            session = EditSession(self.project, stem, on_save_state=self._save_state_callback)
        session.document.add_listener(self._on_step)
        return session

    def _on_save_state(self, state: str, message: str = "") -> None:
        # Runs on the GUI thread (through _save_state_callback), whichever thread saved.
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
        """Stems with journalled edits left by an unexpected exit (none offered while
        read-only: the journal keeps them, and opening the image shows them replayed)."""
        if self.project is None or self.project.read_only:
            return []
        return list(self.project.pending_recovery)  # the project found them when it opened

    def recover(self, stems: list[str], keep: bool) -> int:
        """Replay and save (keep) or discard the journals of ``stems``; returns steps kept."""
        from resunet_gui.annotation.session import EditSession

        assert self.project is not None
        total = 0
        for stem in stems:
            if not keep:
                self.project.journal.clear(stem)
                continue
            try:
                session = EditSession(self.project, stem, on_save_state=self._save_state_callback)
            except ResunetError as exc:  # e.g. a mask of another size: its journal stays
                self.warning.emit(f"cannot recover {stem}: {exc}")
                continue
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
        if doc is None or doc.suggestion is None or not self.editable:
            return None
        return doc.accept_suggestion()  # listeners repaint

    def undo(self) -> BBox | None:
        return None if self.document is None or not self.editable else self.document.undo()

    def redo(self) -> BBox | None:
        return None if self.document is None or not self.editable else self.document.redo()

    def flush(self) -> None:
        """Write the current mask now (used before export, close and tests)."""
        if self.session is not None:
            self.session.save_now()
