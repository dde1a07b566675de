"""Write-ahead journal of mask edits, so a crash (even kill -9) loses at most one stroke.

One file per image under ``.resunet/journal/``. Each history step appends one record
holding the bbox and the *after* patch (uint8, zlib-compressed), length-prefixed with a
crc32, then flush + fsync. Replaying records in order onto the last saved mask rebuilds
the edited mask: because each record stores absolute pixel values, replaying onto a mask
that already contains some of the records gives the same result (save-then-crash is safe).
A torn or corrupt record (a kill mid-append) ends the replay; earlier records stand. When
the file is damaged (not just a torn last record) a copy is kept beside it and ``damage``
says how many strokes were recovered. Journal files are never opened through a link.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from resunet_gui.core.errors import StorageError
from resunet_gui.core.safe_files import check_dir_not_link, open_regular, read_regular
from resunet_gui.core.storage import atomic_write_bytes, storage_error
from resunet_gui.core.types import BBox

log = logging.getLogger(__name__)

MAGIC = b"RSJ1"
_REC_HEAD = struct.Struct("<II")  # payload length, crc32(payload)
_BBOX = struct.Struct("<iiii")
_MAX_PAYLOAD = 1 << 31
MAX_JOURNAL_BYTES = 1 << 30  # a read is bounded: a journal linked to /dev/zero is refused
SUFFIX = ".jnl"
DAMAGED = ".damaged-"  # copies of damaged journals: <name>.jnl.damaged-<time>


def _file_name(stem: str) -> str:
    digest = hashlib.sha1(stem.encode("utf-8", "surrogatepass")).hexdigest()[:20]
    return digest + SUFFIX


def _header(stem: str) -> bytes:
    body = MAGIC + struct.pack("<H", len(s := stem.encode("utf-8", "surrogatepass"))) + s
    return body + struct.pack("<I", zlib.crc32(body))


def _parse_header(data: bytes) -> tuple[str, int] | None:
    """(stem, offset of first record) or None when the header is torn/corrupt."""
    if len(data) < 10 or not data.startswith(MAGIC):
        return None
    (n,) = struct.unpack_from("<H", data, 4)
    end = 6 + n
    if len(data) < end + 4:
        return None
    (crc,) = struct.unpack_from("<I", data, end)
    if crc != zlib.crc32(data[:end]):
        return None
    return data[6:end].decode("utf-8", "surrogatepass"), end + 4


def _records(data: bytes, pos: int) -> Iterator[tuple[int, BBox, bytes]]:
    """Yield (end offset, bbox, patch bytes) for each intact record; stop at the first bad one."""
    while pos + _REC_HEAD.size <= len(data):
        length, crc = _REC_HEAD.unpack_from(data, pos)
        start = pos + _REC_HEAD.size
        if length < _BBOX.size or length > _MAX_PAYLOAD or start + length > len(data):
            return  # torn tail
        payload = data[start:start + length]
        if zlib.crc32(payload) != crc:
            return
        y0, x0, y1, x1 = _BBOX.unpack_from(payload)
        bbox = BBox(y0, x0, y1, x1)
        if bbox.empty or min(y0, x0) < 0:
            return
        try:
            patch = zlib.decompress(payload[_BBOX.size:])
        except zlib.error:
            return
        if len(patch) != bbox.height * bbox.width:
            return
        pos = start + length
        yield pos, bbox, patch


def _tail_is_torn(data: bytes, pos: int) -> bool:
    """True when the bytes after the last intact record are a record cut short by a kill
    (or nothing); False when they are damage that hides later strokes."""
    rest = len(data) - pos
    if rest < _REC_HEAD.size:
        return True
    length, _crc = _REC_HEAD.unpack_from(data, pos)
    return bool(_BBOX.size <= length <= _MAX_PAYLOAD and pos + _REC_HEAD.size + length > len(data))


class Journal:
    """Per-image append-only edit journal in ``folder`` (created on first append)."""

    def __init__(self, folder: str | Path, *, read_only: bool = False) -> None:
        self.folder = Path(folder)
        self.read_only = read_only
        self._lock = threading.Lock()
        self._fds: dict[str, int] = {}
        self._sizes: dict[str, int] = {}
        self.damage: dict[str, str] = {}  # stem -> what was recovered from a damaged journal
        self.problems: list[str] = []  # journal files skipped by pending() (links, too large)

    def path_for(self, stem: str) -> Path:
        return self.folder / _file_name(stem)

    def _read(self, stem: str) -> bytes:
        try:
            return read_regular(self.path_for(stem), MAX_JOURNAL_BYTES)
        except FileNotFoundError:
            return b""
        except StorageError as exc:
            raise StorageError(f"cannot read the edit journal of {stem}: {exc}") from None
        except OSError as exc:
            raise StorageError(f"cannot read the edit journal of {stem}: {exc.strerror}") from None

    def _valid_end(self, stem: str, data: bytes) -> int:
        """Byte offset after the last intact record (0 if the header is bad)."""
        head = _parse_header(data)
        if head is None or head[0] != stem:
            self._note_damage(stem, data, 0, 0)
            return 0
        end, count = head[1], 0
        for end, _bbox, _patch in _records(data, head[1]):  # noqa: B007
            count += 1
        self._note_damage(stem, data, end, count)
        return end

    def _note_damage(self, stem: str, data: bytes, end: int, count: int) -> None:
        """Keep a copy of a damaged journal (once) and say how many strokes survived."""
        torn_header = end == 0 and len(data) <= len(_header(stem))
        if stem in self.damage or self.read_only or torn_header or _tail_is_torn(data, end):
            return
        copy = self.path_for(stem).with_name(
            self.path_for(stem).name + DAMAGED + time.strftime("%Y%m%d-%H%M%S"))
        try:
            atomic_write_bytes(copy, data)
            kept = f"the damaged journal was kept as {copy.name}"
        except StorageError as exc:
            kept = f"a copy of the damaged journal could not be kept ({exc})"
        self.damage[stem] = (f"the edit journal of {stem} was damaged: {count} stroke(s) were "
                             f"recovered, later ones were lost; {kept}")
        log.warning("%s", self.damage[stem])

    def _open(self, stem: str) -> int:
        """Open the journal for appending, cutting off any torn tail from a crash."""
        fd = self._fds.get(stem)
        if fd is not None:
            return fd
        check_dir_not_link(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path_for(stem)
        end = self._valid_end(stem, self._read(stem))
        fd = open_regular(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if end == 0:
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                _write_all(fd, _header(stem))
                end = os.lseek(fd, 0, os.SEEK_CUR)
            else:
                os.ftruncate(fd, end)
                os.lseek(fd, end, os.SEEK_SET)
        except OSError:
            os.close(fd)
            raise
        self._fds[stem] = fd
        self._sizes[stem] = end
        return fd

    def append(self, stem: str, bbox: BBox, patch: np.ndarray) -> None:
        """Durably record that ``bbox`` of ``stem``'s mask now holds ``patch`` (uint8)."""
        if self.read_only:
            raise StorageError("the project is open read-only; edits cannot be journalled")
        patch = np.ascontiguousarray(patch)
        if patch.dtype != np.uint8 or patch.shape != (bbox.height, bbox.width) or bbox.empty:
            raise ValueError(f"patch {patch.shape} {patch.dtype} does not match {bbox}")
        payload = _BBOX.pack(bbox.y0, bbox.x0, bbox.y1, bbox.x1) + zlib.compress(patch.tobytes(), 1)
        record = _REC_HEAD.pack(len(payload), zlib.crc32(payload)) + payload
        with self._lock:
            try:
                fd = self._open(stem)
                _write_all(fd, record)
                os.fsync(fd)
            except OSError as exc:
                self._rollback(stem)
                raise storage_error(exc, self.path_for(stem)) from None
            self._sizes[stem] += len(record)

    def _rollback(self, stem: str) -> None:
        """After a failed append, cut the partial record so later appends stay reachable."""
        fd = self._fds.get(stem)
        if fd is None:
            return
        try:
            os.ftruncate(fd, self._sizes[stem])
            os.lseek(fd, self._sizes[stem], os.SEEK_SET)
        except OSError:
            os.close(self._fds.pop(stem))  # reopened (and trimmed) by the next append

    def replay(self, stem: str, mask: np.ndarray) -> int:
        """Apply ``stem``'s intact records to ``mask`` in place; return how many were applied."""
        with self._lock:
            data = self._read(stem)
        head = _parse_header(data)
        if head is None or head[0] != stem:
            return 0
        applied, end = 0, head[1]
        h, w = mask.shape[:2]
        for end, bbox, patch in _records(data, head[1]):  # noqa: B007
            if bbox.y1 > h or bbox.x1 > w:
                log.warning("journal of %s does not fit a %dx%d mask; stopped replay", stem, w, h)
                break
            mask[bbox.slices] = np.frombuffer(patch, np.uint8).reshape(bbox.height, bbox.width)
            applied += 1
        else:
            self._note_damage(stem, data, end, applied)
        return applied

    def count(self, stem: str) -> int:
        """Number of intact records journalled for ``stem``."""
        with self._lock:
            data = self._read(stem)
        head = _parse_header(data)
        if head is None or head[0] != stem:
            return 0
        return sum(1 for _ in _records(data, head[1]))

    def clear(self, stem: str) -> None:
        """Drop ``stem``'s records (call after its mask was saved)."""
        if self.read_only:
            return
        with self._lock:
            fd = self._fds.pop(stem, None)
            self._sizes.pop(stem, None)
            if fd is not None:
                os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                self.path_for(stem).unlink()

    def pending(self) -> list[str]:
        """Stems that have at least one intact record (unsaved edits from a crash)."""
        if not self.folder.is_dir():
            return []
        stems = []
        for path in sorted(self.folder.glob("*" + SUFFIX)):
            try:
                data = read_regular(path, MAX_JOURNAL_BYTES)
            except StorageError as exc:
                self.problems.append(f"edit journal skipped: {exc}")
                continue
            except OSError:
                continue
            head = _parse_header(data)
            if head is not None and path.name == _file_name(head[0]) \
                    and next(_records(data, head[1]), None) is not None:
                stems.append(head[0])
        return stems

    def close(self) -> None:
        with self._lock:
            for fd in self._fds.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fds.clear()
            self._sizes.clear()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
