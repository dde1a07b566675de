"""Editing one image of a project: load, recover, journal every step, autosave.

Durability chain: each committed step (stroke, operation, undo, redo) is appended to the
write-ahead journal (fsynced) before the edit call returns, so a crash loses at most the
stroke in progress. A debounced autosave writes the whole mask atomically and then clears
the journal. Journal records are absolute after-patches, so replaying them onto any saved
prefix state gives the same result; the journal is only cleared when the saved snapshot is
the document's current version, and kept whenever a save fails.

Callbacks (``on_save_state``) may run on the autosave timer thread: a GUI must hand them
to its own thread.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from resunet_gui.annotation.document import MaskDocument
from resunet_gui.annotation.history import History
from resunet_gui.core.errors import StorageError
from resunet_gui.core.journal import Journal
from resunet_gui.core.storage import Debouncer
from resunet_gui.core.types import BBox, ImageEntry, ImageStatus

log = logging.getLogger(__name__)

SaveStateCallback = Callable[[str, str], None]  # (state: "saved"|"saving"|"error", message)


class ProjectLike(Protocol):
    """The parts of ``core.project.Project`` a session uses."""

    read_only: bool

    @property
    def journal(self) -> Journal: ...
    def entry(self, stem: str) -> ImageEntry: ...
    def image_size(self, stem: str) -> tuple[int, int]: ...
    def read_mask(self, stem: str) -> np.ndarray | None: ...
    def mask_path(self, stem: str) -> Path: ...
    def save_mask(self, stem: str, mask: np.ndarray) -> None: ...
    def set_status(self, stem: str, status: ImageStatus | str, model_version: str | None = None,
                   corrected_fraction: float | None = None) -> None: ...
    def add_edits(self, stem: str, count: int = 1) -> None: ...
    def save(self) -> None: ...


class EditSession:
    """One open image: its MaskDocument plus journal and autosave wiring.

    ``recovered_steps`` counts journal records replayed at open (edits from a crash);
    ``recovery_message`` says so in words. ``last_error`` holds the last StorageError
    (None after a good save); the in-memory work and the journal are kept on any error.
    """

    def __init__(self, project: ProjectLike, stem: str, autosave_delay_s: float = 2.0, *,
                 on_save_state: SaveStateCallback | None = None,
                 history: History | None = None) -> None:
        self.project = project
        self.stem = stem
        self.on_save_state = on_save_state
        self.last_error: StorageError | None = None
        self.state = "saved"
        self._journal = project.journal
        self._edited = False
        self._save_lock = threading.Lock()
        mask = project.read_mask(stem)
        if mask is None:
            mask = np.zeros(project.image_size(stem), np.uint8)
        self.recovered_steps = self._journal.replay(stem, mask)
        self.document = MaskDocument(mask, history=history)
        self._debouncer = Debouncer(autosave_delay_s, self._autosave)
        self.document.add_listener(self._on_change)
        if self.recovered_steps:
            self.document.dirty = True
            self._debouncer.poke()

    @property
    def recovery_message(self) -> str | None:
        damage = getattr(self._journal, "damage", {}).get(self.stem)
        if not self.recovered_steps:
            return damage
        text = (f"Recovered {self.recovered_steps} unsaved edit(s) of {self.stem} "
                "from the journal after an unexpected exit.")
        return text if damage is None else f"{text} Note: {damage}."

    @property
    def has_unsaved(self) -> bool:
        return self.document.dirty

    # -- change handling (runs on the editing thread, under the document lock) -----------
    def _on_change(self, bbox: BBox, patch: np.ndarray) -> None:
        try:
            self._journal.append(self.stem, bbox, patch)
        except StorageError as exc:
            self._fail(exc)
        self._update_project()
        self._debouncer.poke()

    def _update_project(self) -> None:
        try:
            if not self._edited:
                self._edited = True
                status = self.project.entry(self.stem).status
                if status in (ImageStatus.NEW, ImageStatus.SUGGESTED):
                    self.project.set_status(self.stem, ImageStatus.IN_PROGRESS)
            self.project.add_edits(self.stem, 1)
        except StorageError as exc:
            self._fail(exc)

    # -- saving --------------------------------------------------------------------------
    def _emit(self, state: str, message: str = "") -> None:
        self.state = state
        if self.on_save_state is not None:
            try:
                self.on_save_state(state, message)
            except Exception:  # a broken status bar must not break saving
                log.exception("on_save_state callback failed")

    def _fail(self, exc: StorageError) -> None:
        self.last_error = exc
        log.warning("%s", exc)
        self._emit("error", str(exc))

    def _autosave(self) -> None:
        if not self._save():
            return
        if self.document.in_stroke:
            self._debouncer.poke()  # a stroke is open: try again after it

    def _save(self) -> bool:
        """Save the current labels if dirty; True when the document is now clean."""
        with self._save_lock:
            snap = self.document.snapshot()
            if snap is None:
                return True  # the caller reschedules
            if not self.document.dirty:
                return True
            labels, version = snap
            self._emit("saving")
            try:
                self.project.save_mask(self.stem, labels)
            except StorageError as exc:
                self._fail(exc)
                return False
            with self.document.lock:
                if self.document.version == version:  # journal holds nothing newer than disk
                    try:
                        self._journal.clear(self.stem)
                    except OSError as exc:  # harmless: records replay onto a saved prefix
                        log.warning("could not clear the journal of %s: %s", self.stem, exc)
                self.document.mark_saved(version)
            try:
                self.project.save()
            except StorageError as exc:
                self._fail(exc)
                return False
            self.last_error = None
            self._emit("saved", f"saved {self.stem}")
            return True

    def save_now(self) -> bool:
        """Save at once (waits for nothing); True when everything is on disk."""
        self._debouncer.cancel()
        if self.document.in_stroke:
            self.document.end_stroke()
        return self._save() and not self.document.dirty

    def mark_done(self, model_version: str | None = None) -> bool:
        """Save and set the image's status to done with its corrected fraction.

        The fraction is left unset when no suggestion was accepted on this image. An image
        done without a single edit (nothing to label on it) still gets its mask file, so
        everything marked done can be read back and trained on.
        """
        if not self.save_now():
            return False
        snap = self.document.snapshot()  # never None here: save_now ended any stroke
        if snap is not None and not os.path.exists(self.project.mask_path(self.stem)):
            try:
                self.project.save_mask(self.stem, snap[0])
            except StorageError as exc:
                self._fail(exc)
                return False
        counts = self.document.provenance_counts()
        fraction = self.document.corrected_fraction() if counts[1] + counts[2] else None
        try:
            self.project.set_status(self.stem, ImageStatus.DONE, model_version=model_version,
                                    corrected_fraction=fraction)
        except StorageError as exc:
            self._fail(exc)
            return False
        return True

    def close(self) -> bool:
        """Flush pending work; the journal stays on disk if the final save fails."""
        ok = self.save_now()
        self._debouncer.cancel()
        self.document.remove_listener(self._on_change)
        return ok
