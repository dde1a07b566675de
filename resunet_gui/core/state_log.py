"""Append-only log of per-image state changes, so a status change costs one small write.

Rewriting a 10,000-image ``project.json`` (1.8 MB) and fsyncing it for every status change
costs ~100 ms. Instead each change appends one record (the image's whole entry, so replay
is idempotent) to ``.resunet/state.log`` with a crc32 and an fsync: just as durable. The
project folds the log into ``project.json`` on close, on a full save and every
``COMPACT_EVERY`` records; on open the records are replayed over ``project.json`` in order.
A torn last record (a kill mid-append) is ignored, like the edit journal's.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import zlib
from pathlib import Path
from typing import Any

from resunet_gui.core.errors import StorageError
from resunet_gui.core.safe_files import open_regular, read_regular
from resunet_gui.core.storage import storage_error

log = logging.getLogger(__name__)

COMPACT_EVERY = 2000  # records; then project.json is rewritten and the log emptied
MAX_LOG_BYTES = 1 << 28
_HEAD = struct.Struct("<II")  # payload length, crc32(payload)


def parse_records(data: bytes) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
    """(stem, entry JSON) records in order, and whether everything after them was a torn tail."""
    out: list[tuple[str, dict[str, Any]]] = []
    pos = 0
    while pos + _HEAD.size <= len(data):
        length, crc = _HEAD.unpack_from(data, pos)
        payload = data[pos + _HEAD.size:pos + _HEAD.size + length]
        if len(payload) < length:
            return out, True  # torn by a kill mid-append
        if zlib.crc32(payload) != crc:
            return out, False
        try:
            obj = json.loads(payload.decode("utf-8"))
            out.append((str(obj["stem"]), obj["entry"]))
        except (ValueError, KeyError, TypeError):
            return out, False
        pos += _HEAD.size + length
    return out, True


class StateLog:
    """The log file; ``records`` counts what it holds now (for compaction).

    ``needs_reset`` is True when the file holds anything that a further append could hide
    behind (a torn tail, damage, a failed append): the project then rewrites project.json
    and clears the log instead of appending.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records = 0
        self.needs_reset = False
        self._fd: int | None = None
        self._size = 0

    def read(self) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
        """Records to replay and whether the file was intact (a torn tail counts as intact)."""
        try:
            data = read_regular(self.path, MAX_LOG_BYTES)
        except FileNotFoundError:
            return [], True
        except OSError as exc:
            raise StorageError(f"cannot read {self.path}: {exc.strerror}") from None
        records, intact = parse_records(data)
        self.records = len(records)
        self.needs_reset = bool(data)
        return records, intact

    def append(self, records: list[tuple[str, dict[str, Any]]]) -> None:
        """Durably add ``records`` (one write and one fsync for all of them)."""
        blob = b"".join(_frame(stem, entry) for stem, entry in records)
        try:
            if self._fd is None:
                self._fd = open_regular(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                self._size = os.fstat(self._fd).st_size
            view = memoryview(blob)
            while view:
                view = view[os.write(self._fd, view):]
            os.fsync(self._fd)
        except OSError as exc:
            self._cut_partial()
            raise storage_error(exc, self.path) from None
        self.records += len(records)
        self._size += len(blob)

    def _cut_partial(self) -> None:
        """After a failed append, remove the partial record so later ones stay reachable."""
        try:
            if self._fd is not None:
                os.ftruncate(self._fd, self._size)
        except OSError:
            self.needs_reset = True
        self.close()

    def clear(self) -> None:
        """Forget the records (after they were folded into project.json)."""
        self.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self.records = 0
        self.needs_reset = False

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)


def _frame(stem: str, entry: dict[str, Any]) -> bytes:
    payload = json.dumps({"stem": stem, "entry": entry}, separators=(",", ":"),
                         ensure_ascii=False).encode("utf-8")
    return _HEAD.pack(len(payload), zlib.crc32(payload)) + payload
