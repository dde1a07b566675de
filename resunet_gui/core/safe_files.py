"""Opening the app's own files (under ``.resunet/``) without following links.

A symlink planted at ``.resunet/lock`` or a journal would make a write land outside the
project (the link's target is overwritten), and a journal linked to ``/dev/zero`` would be
read until memory runs out. Every such file is opened with ``O_NOFOLLOW`` and checked to be
a regular file; reads are bounded by size. Non-blocking opens keep a FIFO from hanging.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from resunet_gui.core.errors import StorageError

O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
O_BINARY = getattr(os, "O_BINARY", 0)


class UnsafeFileError(StorageError):
    """A file the app keeps is a link, a device, a FIFO or a folder: it is not touched."""


def _unsafe(path: Path, what: str) -> UnsafeFileError:
    return UnsafeFileError(f"{path} is {what}, not a regular file; the app does not follow or "
                           "overwrite it (delete or rename it, then open the project again)")


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _lstat_mode(path: Path) -> int | None:
    """The mode of ``path`` itself (links not followed); None when it does not exist."""
    try:
        return os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError(f"cannot check {path}: {exc.strerror}") from None


def check_not_link(path: str | Path) -> None:
    """Raise ``UnsafeFileError`` if ``path`` exists and is a symlink or not a regular file."""
    path = Path(path)
    mode = _lstat_mode(path)
    if mode is not None and not stat.S_ISREG(mode):
        raise _unsafe(path, _kind(mode))


def check_dir_not_link(path: str | Path) -> None:
    """Raise ``UnsafeFileError`` if folder ``path`` exists as a link or as anything but a folder."""
    path = Path(path)
    mode = _lstat_mode(path)
    if mode is not None and not stat.S_ISDIR(mode):
        raise UnsafeFileError(f"{path} is {_kind(mode)}, not a folder; the app does not "
                              "follow it (delete or rename it, then open the project again)")


def open_regular(path: str | Path, flags: int, mode: int = 0o644) -> int:
    """``os.open`` that refuses links and non-regular files; returns a blocking fd.

    OSError other than "it is a link" passes through (FileNotFoundError, EACCES...).
    """
    path = Path(path)
    try:
        fd = os.open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_BINARY, mode)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK) and os.path.islink(path):
            raise _unsafe(path, "a symbolic link") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _unsafe(path, _kind(st.st_mode))
        if O_NONBLOCK and hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: str | Path, limit: int) -> bytes:
    """The bytes of regular file ``path`` (never through a link), at most ``limit`` of them.

    Raises FileNotFoundError when absent, ``UnsafeFileError`` for links/special files and
    ``StorageError`` when the file is larger than ``limit``.
    """
    path = Path(path)
    fd = open_regular(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise StorageError(f"{path} is {size / 2**20:.1f} MiB, more than the "
                               f"{limit / 2**20:.0f} MiB this file may hold; it was not read")
        chunks, left = [], size
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
