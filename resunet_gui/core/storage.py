"""Crash-safe file writes and a debounced autosave trigger.

A write goes to a temp file in the same folder, is fsynced, then ``os.replace``d over the
target, and the folder is fsynced: a kill at any moment leaves either the old or the new file,
never a truncated one. Failures become ``StorageError`` with a message a user understands,
and the previous file is left untouched.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from resunet_gui.core.errors import StorageError
from resunet_gui.core.imageio import encode_png

log = logging.getLogger(__name__)


class StorageConflictError(StorageError):
    """The file on disk changed since it was read (another program wrote it)."""


@dataclass(frozen=True)
class FileStamp:
    """Identity of a file version: if either field changes, someone rewrote the file."""

    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: str | Path) -> FileStamp | None:
        """Stamp of ``path`` now, or None when it does not exist."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise storage_error(exc, Path(path)) from None
        return cls(st.st_mtime_ns, st.st_size)


def check_unchanged(path: str | Path, expected: FileStamp | None) -> None:
    """Raise ``StorageConflictError`` if ``path`` is not the version described by ``expected``.

    ``expected=None`` means "the file did not exist when we looked".
    """
    now = FileStamp.of(path)
    if now != expected:
        what = "deleted" if now is None else "created" if expected is None else "changed"
        raise StorageConflictError(
            f"{Path(path).name} was {what} on disk by another program since it was opened; "
            "your work is kept in memory and was not written over it")


def storage_error(exc: OSError, path: Path) -> StorageError:
    """A StorageError whose message says what went wrong writing ``path``, in user terms."""
    code = exc.errno
    where = str(path.parent)
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return StorageError(f"cannot save {path.name}: disk full (no space left in {where}); "
                            "free some space and save again, nothing was lost")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StorageError(f"cannot save {path.name}: folder is read-only ({where}); "
                            "your work is kept in memory")
    return StorageError(f"cannot save {path.name}: {exc.strerror or exc} ({where})")


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a directory for fsync; os.replace is atomic there
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes, *,
                       expected: FileStamp | None | bool = False) -> FileStamp:
    """Replace ``path`` with ``data`` atomically and durably; return the new file's stamp.

    Pass ``expected`` (a ``FileStamp`` or None for "did not exist") to refuse overwriting a
    file that another program changed since it was read; the default ``False`` skips the check.
    """
    path = Path(path)
    if expected is not False:
        check_unchanged(path, expected)  # type: ignore[arg-type]
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    fd = -1
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise storage_error(exc, path) from None
    stamp = FileStamp.of(path)
    assert stamp is not None
    return stamp


def atomic_write_png(path: str | Path, array: np.ndarray, *,
                     expected: FileStamp | None | bool = False) -> FileStamp:
    """Encode ``array`` as PNG and write it atomically (see ``atomic_write_bytes``)."""
    return atomic_write_bytes(path, encode_png(array), expected=expected)


def atomic_write_json(path: str | Path, obj: Any, *, expected: FileStamp | None | bool = False,
                      indent: int | None = 1) -> FileStamp:
    """Write ``obj`` as UTF-8 JSON atomically (see ``atomic_write_bytes``)."""
    seps = (",", ":") if indent is None else None
    data = json.dumps(obj, indent=indent, separators=seps, ensure_ascii=False).encode("utf-8")
    return atomic_write_bytes(path, data, expected=expected)


class Debouncer:
    """Run ``callback`` once, ``delay_s`` after the last ``poke()`` (autosave after editing).

    Thread-safe; the callback never runs twice at once. Exceptions from the callback are
    logged, kept in ``last_error`` and passed to ``on_error`` so a failed autosave is seen;
    after a failure the work stays ``pending`` so the next ``flush()`` retries it.
    """

    def __init__(self, delay_s: float, callback: Callable[[], None],
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        self.delay_s = float(delay_s)
        self._callback = callback
        self._on_error = on_error
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._generation = 0
        self._pending = False
        self.last_error: BaseException | None = None

    @property
    def pending(self) -> bool:
        """True while a poke has not yet been followed by a run."""
        return self._pending

    def poke(self) -> None:
        """(Re)start the countdown."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._generation += 1
            self._pending = True
            timer = threading.Timer(self.delay_s, self._fire, args=(self._generation,))
            timer.daemon = True
            self._timer = timer
            timer.start()

    def _fire(self, generation: int) -> None:
        with self._lock:
            if generation != self._generation or not self._pending:
                return  # superseded by a later poke, a flush or a cancel
        self._run()

    def flush(self) -> bool:
        """Run the callback now (in this thread) if a poke is pending; True if it ran."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if not self._pending:
                return False
        return self._run()

    def cancel(self) -> None:
        """Forget a pending poke without running the callback."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._generation += 1
            self._pending = False

    def _run(self) -> bool:
        with self._run_lock:
            with self._lock:
                if not self._pending:
                    return False
                self._pending = False
            try:
                self._callback()
            except Exception as exc:  # an autosave failure must be reported, not lost
                log.exception("debounced callback failed")
                self.last_error = exc
                with self._lock:
                    self._pending = True  # still unsaved: the next flush retries
                if self._on_error is not None:
                    try:
                        self._on_error(exc)
                    except Exception:
                        log.exception("debounce error handler failed")
                return True
            self.last_error = None
            return True


_TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")


def remove_stale_temps(folder: Path) -> int:
    """Delete temp files that a killed writer left behind; call only while holding the lock."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if _TEMP_NAME.match(entry.name) and entry.is_file(follow_symlinks=False):
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                pass
    return removed


_EXPORT_STAGING = re.compile(r"^\..+\.tmp-[0-9a-f]{8}$")
STALE_EXPORT_S = 3600.0  # a staging folder untouched this long belongs to a killed export
_NOT_EXPORTS = frozenset({"images", "masks"})


def _newest_mtime(folder: str) -> float:
    """Newest mtime of ``folder`` and its direct entries (a live export keeps touching them)."""
    newest = os.lstat(folder).st_mtime
    with os.scandir(folder) as it:
        for entry in it:
            newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
    return newest


def remove_stale_exports(project: Path, *, max_age_s: float = STALE_EXPORT_S) -> int:
    """Delete staging folders (``.NAME.tmp-XXXXXXXX``) of killed exports in the project folder
    and its direct subfolders; call only while holding the project's lock."""
    removed = 0
    folders = [str(project)]
    with contextlib.suppress(OSError), os.scandir(project) as it:
        folders += [e.path for e in it if not e.name.startswith(".") and e.name not in _NOT_EXPORTS
                    and e.is_dir(follow_symlinks=False)]
    now = time.time()
    for folder in folders:
        try:
            with os.scandir(folder) as it:
                stale = [e.path for e in it if _EXPORT_STAGING.match(e.name)
                         and stat.S_ISDIR(e.stat(follow_symlinks=False).st_mode)]
            for path in stale:
                if now - _newest_mtime(path) > max_age_s:
                    shutil.rmtree(path)
                    removed += 1
        except OSError as exc:
            log.debug("stale export cleanup skipped %s: %s", folder, exc)
    return removed


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (weights checks, export manifests)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
