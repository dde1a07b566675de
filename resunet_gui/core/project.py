"""A project folder: image list, masks, classes, per-image status, lock and journal.

Two layouts: a dataset (``images/`` + ``masks/`` + ``classes.json`` + ``split.csv``) or a
plain folder of images (masks go to ``<folder>/masks/``). Opening lists file names only —
no image is decoded — so a 10,000-image folder opens instantly; sizes come on demand.
Problems with single files (name collisions, empty files, odd names) become ``warnings``.
"""
from __future__ import annotations

import contextlib
import errno
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from resunet_gui.core import imageio
from resunet_gui.core.errors import ProjectError, ProjectStateError, ResunetError, StorageError
from resunet_gui.core.image_scan import scan_images, summarize_names
from resunet_gui.core.journal import Journal
from resunet_gui.core.lock import ProjectLock
from resunet_gui.core.mask_check import UnknownValues, check_mask, check_size
from resunet_gui.core.project_state import (
    ProjectState,
    dump_state,
    entry_from_json,
    entry_to_json,
    load_classes_file,
    load_split_csv,
    parse_classes,
    parse_state,
)
from resunet_gui.core.safe_files import UnsafeFileError, check_dir_not_link, read_regular
from resunet_gui.core.state_log import COMPACT_EVERY, StateLog
from resunet_gui.core.storage import (
    FileStamp,
    atomic_write_json,
    atomic_write_png,
    remove_stale_exports,
    remove_stale_temps,
    storage_error,
)
from resunet_gui.core.types import DEFAULT_CLASSES, IGNORE_INDEX, ClassSpec, ImageEntry, ImageStatus

STATE_DIR = ".resunet"
MAX_STATE_BYTES = 1 << 28  # project.json is read whole: bounded, never through a link
class Project:
    """An open project folder. Use ``Project.open``; close it (or use ``with``) to release the lock.

    Safe to share between threads (GUI, autosave, model worker, export): ``state_lock``, an
    RLock, serialises every state change, mask bookkeeping and save, so the state log and
    project.json are never written by two threads at once.
    """

    def __init__(self, folder: Path, *, layout: str, recursive: bool) -> None:
        self.folder = folder
        self.layout = layout
        self.recursive = recursive
        self.images_dir = folder / "images" if layout == "dataset" else folder
        self.masks_dir = folder / "masks"
        self.state_dir = folder / STATE_DIR
        self.models_dir = self.state_dir / "models"
        self.state_path = self.state_dir / "project.json"
        self.classes: list[ClassSpec] = list(DEFAULT_CLASSES)
        self.ignore_index: int | None = IGNORE_INDEX
        self.read_only = False
        self.read_only_reason: str | None = None
        self.warnings: list[str] = []
        self.pending_recovery: list[str] = []
        self.recovered_from: Path | None = None  # where a corrupt project.json was moved
        self._entries: dict[str, ImageEntry] = {}
        self._orphans: dict[str, ImageEntry] = {}
        self._split: dict[str, tuple[str | None, str | None]] = {}
        self._sizes: dict[str, tuple[int, int]] = {}
        self._mask_stamps: dict[str, FileStamp | None] = {}
        self._state_stamp: FileStamp | None | bool = False
        self._extra: dict[str, Any] = {}
        self._lock = ProjectLock(self.state_dir / "lock")
        self._journal: Journal | None = None
        self._batch = 0
        self._dirty = False
        self._log = StateLog(self.state_dir / "state.log")
        self._dirty_stems: set[str] = set()  # entries changed since the last save
        self._needs_full = False  # something other than entries changed: rewrite project.json
        self._import_as = ImageStatus.DONE
        self._read_only_requested = False
        self.state_lock = threading.RLock()

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(cls, folder: str | Path, *, recursive: bool = False, read_only: bool = False,
             import_masks_as: ImageStatus | str = ImageStatus.DONE, recover: bool = False) -> Project:
        """Open (and on first use, initialise) a project; never decodes images.

        ``read_only`` is forced on when another instance holds the lock or the folder cannot
        be written; the reason is in ``warnings``. A corrupt project.json raises ProjectError
        unless ``recover=True``, which moves it aside (kept for inspection) and starts fresh.
        """
        folder = Path(folder).expanduser().absolute()
        if not folder.is_dir():
            raise ProjectError(f"{folder} is not a folder")
        layout = "dataset" if (folder / "images").is_dir() else "plain"
        self = cls(folder, layout=layout, recursive=recursive)
        self._import_as, self._read_only_requested = ImageStatus(import_masks_as), read_only
        self._scan()
        if read_only:
            self._set_read_only("opened read-only as requested")
        else:
            self._take_lock()
        try:
            self._load(ImageStatus(import_masks_as), recover)
        except BaseException:
            self._lock.release()
            raise
        return self

    def retry_write_access(self) -> bool:
        """Try again to take the lock and write (the other instance quit, space was freed,
        the folder became writable); True when the project is now writable. The state is
        re-read first: another instance may have changed it meanwhile."""
        with self.state_lock:  # no other thread's change or save while the state is re-read
            return self._reopen_writable()

    def _reopen_writable(self) -> bool:
        if not self.read_only or self._read_only_requested:
            return not self.read_only
        old = self.read_only_reason
        self.read_only, self.read_only_reason = False, None
        self._take_lock()
        if old in self.warnings:
            self.warnings.remove(old)
        if self.read_only:
            return False
        if self._journal is not None:
            self._journal.close()
            self._journal = None  # the next use opens it writable
        try:
            self._entries, self._orphans = {}, {}
            self._load(self._import_as, recover=False)
        except ResunetError as exc:
            self._lock.release()
            self._set_read_only(f"opened read-only: {exc}")
            return False
        return True

    def _set_read_only(self, reason: str) -> None:
        self.read_only = True
        self.read_only_reason = reason
        self.warnings.insert(0, reason)

    def _take_lock(self) -> None:
        if not os.access(self.folder, os.W_OK):
            self._set_read_only("opened read-only: the folder is read-only (no write permission)")
            return
        try:
            for folder in (self.state_dir, self.models_dir, self.state_dir / "journal"):
                check_dir_not_link(folder)
            self.state_dir.mkdir(exist_ok=True)
            busy = self._lock.acquire()
        except UnsafeFileError as exc:
            self._set_read_only(f"opened read-only: {exc}")
            return
        except OSError as exc:
            ro = exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
            why = "the folder is read-only (no write permission)" if ro else exc.strerror
            self._set_read_only(f"opened read-only: {why}")
            return
        if busy:
            self._set_read_only(busy)
            return
        for folder in (self.masks_dir, self.state_dir, self.models_dir):
            remove_stale_temps(folder)
        remove_stale_exports(self.folder)

    def _scan(self) -> None:
        skip = {"masks", STATE_DIR} if self.layout == "plain" else set()
        self._relpaths, warnings = scan_images(self.images_dir, recursive=self.recursive, skip=skip)
        self.warnings.extend(warnings)
        if not self._relpaths:
            self.warnings.append(f"no images ({', '.join(imageio.IMAGE_SUFFIXES)}) found in {self.images_dir}")

    def _load(self, import_as: ImageStatus, recover: bool) -> None:
        state, fresh = self._read_state(recover)
        self._load_classes(state)
        self._extra = state.extra
        if (self.folder / "split.csv").is_file():
            self._split, warnings = load_split_csv(self.folder / "split.csv")
            self.warnings.extend(warnings)
            unknown = sorted(set(self._split) - self._relpaths.keys())
            if unknown:
                self.warnings.append(summarize_names("stems in split.csv match no image", unknown))
        masks = self._mask_stems()
        now = time.time()
        for stem, rel in self._relpaths.items():
            entry = state.entries.pop(stem, None)
            if entry is None:
                status = import_as if stem in masks else ImageStatus.NEW
                entry = ImageEntry(stem=stem, relpath=rel, status=status, created=now, updated=now)
                self._dirty = True
            entry.relpath = rel
            entry.split, entry.group = self._split.get(stem, (None, None))
            self._entries[stem] = entry
        self._orphans = state.entries  # images gone from disk: keep their state, don't list them
        lonely = sorted(masks - self._entries.keys())
        if lonely:
            self.warnings.append(summarize_names("masks without a matching image", lonely))
        self.pending_recovery = [s for s in self.journal.pending() if s in self._entries]
        self.warnings.extend(self.journal.problems)
        if self.pending_recovery:
            self.warnings.append(summarize_names("images have unsaved edits from a crash that will be "
                                          "restored when opened", self.pending_recovery))
        self._needs_full = (self._dirty or self._log.needs_reset or fresh
                            or state.migrated_from is not None)
        if not self.read_only and self._needs_full:
            try:
                self.save()
            except StorageError as exc:  # e.g. disk full: still open the project to look at it
                self.warnings.append(f"project state not saved yet: {exc}")

    def _load_classes(self, state: ProjectState) -> None:
        """In the dataset layout classes.json is the source of truth: edits to it after the
        first open are picked up with a warning. In a plain folder project.json wins."""
        classes_file = self.folder / "classes.json"
        if state.classes is not None:
            self.classes, self.ignore_index = state.classes, state.ignore_index
        if not classes_file.is_file():
            return
        if state.classes is None:
            self.classes, self.ignore_index = load_classes_file(classes_file)
            return
        if self.layout != "dataset":
            return  # the app never writes a plain folder's classes.json: project.json wins
        try:
            edited = load_classes_file(classes_file)
        except ProjectError as exc:
            self.warnings.append(f"{exc}; the classes saved in the project are used")
            return
        def looks(classes: list[ClassSpec]) -> list[tuple[int, str, tuple[int, int, int]]]:
            return [(c.id, c.name, c.color) for c in classes]  # keys live in project.json only

        if (looks(edited[0]), edited[1]) != (looks(self.classes), self.ignore_index):
            keys = {c.id: c.key for c in self.classes}
            self.classes = [replace(c, key=keys.get(c.id, c.key)) for c in edited[0]]
            self.ignore_index = edited[1]
            self._dirty = True
            self.warnings.append("classes.json changed since the project was last opened; "
                                 "its classes are used now")

    def _read_state(self, recover: bool) -> tuple[ProjectState, bool]:
        state, fresh = self._read_state_file(recover)
        self._replay_log(state)
        return state, fresh

    def _replay_log(self, state: ProjectState) -> None:
        """Apply the status changes logged since project.json was last written."""
        records, intact = self._log.read()
        for stem, obj in records:
            try:
                state.entries[stem] = entry_from_json(stem, obj, self._log.path)
            except ProjectError as exc:
                self.warnings.append(f"a logged status change was skipped: {exc}")
        if not intact:
            self.warnings.append(f"{self._log.path.name} is damaged: {len(records)} status "
                                 "change(s) were recovered, later ones were lost")

    def _read_state_file(self, recover: bool) -> tuple[ProjectState, bool]:
        try:
            data = read_regular(self.state_path, MAX_STATE_BYTES)
        except FileNotFoundError:
            self._state_stamp = None
            return ProjectState(), True
        except StorageError as exc:
            raise ProjectError(f"cannot read the project state: {exc}") from None
        except OSError as exc:
            raise ProjectError(f"cannot read {self.state_path}: {exc.strerror}") from None
        self._state_stamp = FileStamp.of(self.state_path)
        try:
            return parse_state(data, self.state_path), False
        except ProjectError as exc:
            if not recover or self.read_only:
                raise ProjectStateError(
                    f"{exc} (open it with recovery: --recover on the command line, or answer "
                    "Recover when the app asks; the bad file is kept and the state is rebuilt "
                    "from the masks)") from None
            aside = self.state_path.with_name(f"project.json.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            os.replace(self.state_path, aside)
            self.recovered_from = aside
            self._state_stamp = None
            self.warnings.append(f"{exc}; it was moved to {aside.name} and the project state was "
                                 "rebuilt from the masks on disk (images with a mask are done)")
            return ProjectState(), True

    def _mask_stems(self) -> set[str]:
        try:
            return {os.path.splitext(e.name)[0] for e in os.scandir(self.masks_dir)
                    if e.name.lower().endswith(".png") and not e.name.startswith(".")}
        except OSError:
            return set()

    # ----------------------------------------------------------------- queries
    @property
    def journal(self) -> Journal:
        """The write-ahead edit journal (refuses appends when read-only)."""
        if self._journal is None:
            self._journal = Journal(self.state_dir / "journal", read_only=self.read_only)
        return self._journal

    def stems(self) -> list[str]:
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, stem: str) -> ImageEntry:
        try:
            return self._entries[stem]
        except KeyError:
            raise ProjectError(f"no image named {stem!r} in this project") from None

    def image_path(self, stem: str) -> Path:
        return self.images_dir / self.entry(stem).relpath

    def mask_path(self, stem: str) -> Path:
        self.entry(stem)
        return self.masks_dir / f"{stem}.png"

    def image_size(self, stem: str) -> tuple[int, int]:
        """(height, width) from the header, cached; ImageReadError if unreadable."""
        size = self._sizes.get(stem)
        if size is None:
            size = self._sizes[stem] = imageio.image_size(self.image_path(stem))
        return size

    def split_of(self, stem: str) -> str | None:
        return self.entry(stem).split

    def group_of(self, stem: str) -> str | None:
        return self.entry(stem).group

    def stems_with_status(self, status: ImageStatus | str) -> list[str]:
        status = ImageStatus(status)
        return [s for s, e in self._entries.items() if e.status == status]

    # ----------------------------------------------------------------- masks
    def read_mask(self, stem: str) -> np.ndarray | None:
        """The saved mask, or None when there is none; remembers its version for save_mask."""
        path = self.mask_path(stem)
        with self.state_lock:
            stamp = FileStamp.of(path)
            self._mask_stamps[stem] = stamp
            if stamp is None:
                return None
            mask = imageio.read_mask(path)
        check_size(stem, mask, self.image_size(stem))  # MaskError: never edit a misfit
        return mask

    def read_mask_checked(self, stem: str, unknown: UnknownValues = "fail",
                          warnings: list[str] | None = None) -> np.ndarray | None:
        """The saved mask checked for size and class values (``core.mask_check``), for
        training and export; no version bookkeeping, so worker threads may call it."""
        path = self.mask_path(stem)
        if not path.is_file():
            return None
        mask, note = check_mask(stem, imageio.read_mask(path), self.image_size(stem),
                                [c.id for c in self.classes], self.ignore_index, unknown)
        if note is not None and warnings is not None:
            warnings.append(note)
        return mask

    def save_mask(self, stem: str, mask: np.ndarray) -> None:
        """Write the mask atomically; refuses if another program changed it since read_mask."""
        self._check_writable()
        mask = np.asarray(mask)
        if mask.dtype != np.uint8 or mask.ndim != 2:
            raise ValueError(f"mask must be uint8 HxW, got {mask.dtype} {mask.shape}")
        if stem in self._sizes and self._sizes[stem] != mask.shape:
            raise ProjectError(f"mask of {stem} is {mask.shape[1]}x{mask.shape[0]} but the image "
                               f"is {self._sizes[stem][1]}x{self._sizes[stem][0]}")
        path = self.mask_path(stem)
        try:
            self.masks_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise storage_error(exc, path) from None
        with self.state_lock:
            expected = self._mask_stamps.get(stem, False)
            self._mask_stamps[stem] = atomic_write_png(path, mask, expected=expected)

    # ----------------------------------------------------------------- state
    def _check_writable(self) -> None:
        if self.read_only:
            raise StorageError(f"this project is open read-only ({self.read_only_reason}); "
                               "nothing was written")

    def set_status(self, stem: str, status: ImageStatus | str, model_version: str | None = None,
                   corrected_fraction: float | None = None) -> None:
        """Update an image's status (logged durably at once unless inside ``batch()``)."""
        self._check_writable()
        e = self.entry(stem)
        with self.state_lock:
            e.status = ImageStatus(status)
            if model_version is not None:
                e.model_version = model_version
            if corrected_fraction is not None:
                e.corrected_fraction = float(corrected_fraction)
            e.updated = time.time()
            self._dirty_stems.add(stem)
            self._changed()

    def add_edits(self, stem: str, count: int = 1) -> None:
        """Count editing steps on an image (saved with the next save)."""
        self._check_writable()
        e = self.entry(stem)
        with self.state_lock:
            e.edits += count
            e.updated = time.time()
            self._dirty_stems.add(stem)
            self._dirty = True

    def set_classes(self, classes: list[ClassSpec]) -> None:
        """Replace the class list (and the dataset's classes.json in the dataset layout)."""
        self._check_writable()
        checked = parse_classes([c.to_dict(with_key=True) for c in classes], "classes")
        with self.state_lock:
            self.classes = checked
            if self.layout == "dataset":
                atomic_write_json(self.folder / "classes.json", {
                    "classes": [c.to_dict() for c in checked],
                    "ignore_index": self.ignore_index})
            self._needs_full = True
            self._changed()

    def _changed(self) -> None:
        self._dirty = True
        if self._batch == 0:
            self.save()

    @contextlib.contextmanager
    def batch(self) -> Iterator[Project]:
        """Defer state saves until the block ends (for bulk status changes; other threads'
        changes meanwhile are deferred too, not lost)."""
        with self.state_lock:
            self._batch += 1
        try:
            yield self
        finally:
            with self.state_lock:
                self._batch -= 1
                if self._batch == 0 and self._dirty:
                    self.save()

    def save(self) -> None:
        """Make the state durable: log changed entries, or rewrite project.json when more
        changed or the log is long (a full write is refused if another program rewrote it)."""
        self._check_writable()
        with self.state_lock:
            stems, self._dirty_stems = self._dirty_stems, set()  # edits from now on: next save
            try:
                if (self._needs_full or self._log.needs_reset
                        or self._log.records + len(stems) > COMPACT_EVERY):
                    self._write_full()
                elif stems:
                    self._log.append([(s, entry_to_json(self._entries[s]))
                                      for s in sorted(stems)])
            except BaseException:
                self._dirty_stems |= stems  # still unsaved: the next save retries them
                raise
            self._dirty = bool(self._dirty_stems)

    def _write_full(self) -> None:
        """Rewrite project.json with everything, then empty the log it now contains."""
        entries = list(self._entries.values()) + list(self._orphans.values())
        doc = dump_state(self.classes, self.ignore_index, entries, self._extra)
        self.state_dir.mkdir(exist_ok=True)
        compact = None if len(entries) > 200 else 1  # big projects: smaller, faster file
        self._state_stamp = atomic_write_json(self.state_path, doc, expected=self._state_stamp,
                                              indent=compact)
        self._log.clear()
        self._needs_full = False

    def close(self) -> None:
        """Save pending state and release the lock (the lock is released even if saving fails)."""
        try:
            with self.state_lock:
                if not self.read_only and (self._dirty or self._log.records or self._needs_full):
                    self._write_full()
                    self._dirty = False
                    self._dirty_stems.clear()
        finally:
            self._log.close()
            if self._journal is not None:
                self._journal.close()
            self._lock.release()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        ro = ", read-only" if self.read_only else ""
        return f"Project({str(self.folder)!r}, {self.layout}, {len(self)} images{ro})"
