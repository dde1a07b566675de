"""core.storage: atomic writes, disk-full/read-only/conflict errors, debounced autosave."""
from __future__ import annotations

import errno
import json
import os
import threading
import time

import numpy as np
import pytest

from resunet_gui.core import storage
from resunet_gui.core.errors import StorageError
from resunet_gui.core.imageio import read_mask
from resunet_gui.core.storage import (
    Debouncer,
    FileStamp,
    StorageConflictError,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_png,
)


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_atomic_write_replaces_content_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a.bin"
    stamp1 = atomic_write_bytes(target, b"one")
    stamp2 = atomic_write_bytes(target, b"second version")
    assert target.read_bytes() == b"second version"
    assert stamp2 == FileStamp.of(target) and stamp1 != stamp2
    assert _leftovers(tmp_path) == []


def test_atomic_write_png_and_json_round_trip(tmp_path):
    mask = np.arange(60, dtype=np.uint8).reshape(6, 10)
    atomic_write_png(tmp_path / "m.png", mask)
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png"), mask)
    atomic_write_json(tmp_path / "s.json", {"é": [1, 2]})
    assert json.loads((tmp_path / "s.json").read_text("utf-8")) == {"é": [1, 2]}


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_disk_full_raises_clear_error_and_keeps_old_file(tmp_path, monkeypatch, where):
    target = tmp_path / "mask.png"
    target.write_bytes(b"old content")

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage.os, where, full)
    with pytest.raises(StorageError, match="disk full") as err:
        atomic_write_bytes(target, b"new content that does not fit")
    monkeypatch.undo()
    assert "mask.png" in str(err.value)
    assert target.read_bytes() == b"old content"
    assert _leftovers(tmp_path) == []


def _make_unwritable(folder, monkeypatch) -> str:
    """chmod the folder read-only; as root (chmod doesn't bind) make os.open refuse instead."""
    folder.chmod(0o555)
    try:
        probe = folder / ".probe"
        probe.write_bytes(b"")
        probe.unlink()
    except PermissionError:
        return "chmod"
    real_open = os.open

    def refuse(path, flags, *args, **kwargs):
        if str(path).startswith(str(folder)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    return "monkeypatch"


def test_read_only_folder_raises_clear_error_and_keeps_old_file(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "s.json").write_text('{"old": true}')
    _make_unwritable(folder, monkeypatch)
    try:
        with pytest.raises(StorageError, match="read-only"):
            atomic_write_json(folder / "s.json", {"new": True})
    finally:
        monkeypatch.undo()
        folder.chmod(0o755)
    assert json.loads((folder / "s.json").read_text()) == {"old": True}
    assert _leftovers(folder) == []


def test_write_refuses_when_file_changed_on_disk_since_read(tmp_path):
    target = tmp_path / "m.png"
    target.write_bytes(b"version read by us")
    stamp = FileStamp.of(target)
    target.write_bytes(b"another program wrote this")
    with pytest.raises(StorageConflictError, match="changed on disk"):
        atomic_write_bytes(target, b"ours", expected=stamp)
    assert target.read_bytes() == b"another program wrote this"


def test_same_size_rewrite_is_detected_by_mtime(tmp_path):
    target = tmp_path / "m.png"
    target.write_bytes(b"aaaa")
    stamp = FileStamp.of(target)
    target.write_bytes(b"bbbb")
    os.utime(target, ns=(stamp.mtime_ns + 5_000_000, stamp.mtime_ns + 5_000_000))
    with pytest.raises(StorageConflictError):
        atomic_write_bytes(target, b"ours", expected=stamp)


def test_file_created_by_someone_else_is_a_conflict_and_matching_stamp_is_not(tmp_path):
    target = tmp_path / "m.png"
    target.write_bytes(b"appeared")
    with pytest.raises(StorageConflictError, match="created"):
        atomic_write_bytes(target, b"ours", expected=None)
    new = atomic_write_bytes(target, b"ours", expected=FileStamp.of(target))
    atomic_write_bytes(target, b"ours again", expected=new)
    assert target.read_bytes() == b"ours again"


def test_debouncer_runs_once_after_the_last_poke():
    calls, done = [], threading.Event()

    def cb():
        calls.append(1)
        done.set()

    d = Debouncer(0.05, cb)
    for _ in range(10):
        d.poke()
    assert d.pending
    assert done.wait(5)
    time.sleep(0.1)
    assert calls == [1] and not d.pending


def test_debouncer_flush_runs_now_and_cancel_drops():
    calls = []
    d = Debouncer(60, lambda: calls.append(1))
    assert d.flush() is False
    d.poke()
    assert d.flush() is True and calls == [1]
    d.poke()
    d.cancel()
    assert d.flush() is False and calls == [1]


def test_debouncer_reports_callback_errors_and_keeps_work_pending(caplog):
    seen = []
    attempts = []

    def failing():
        attempts.append(1)
        if len(attempts) == 1:
            raise StorageError("disk full")

    d = Debouncer(60, failing, on_error=seen.append)
    d.poke()
    d.flush()
    assert isinstance(d.last_error, StorageError) and seen == [d.last_error]
    assert "debounced callback failed" in caplog.text
    assert d.pending  # unsaved: the next flush retries
    assert d.flush() and d.last_error is None and not d.pending


def test_debouncer_pokes_from_many_threads_never_run_concurrently():
    running, overlaps, count = [0], [], [0]
    lock = threading.Lock()

    def cb():
        with lock:
            running[0] += 1
            overlaps.append(running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
            count[0] += 1

    d = Debouncer(0.001, cb)
    threads = [threading.Thread(target=lambda: [d.poke() or time.sleep(0.002) for _ in range(20)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    d.flush()
    time.sleep(0.05)
    assert max(overlaps) == 1 and count[0] >= 1 and not d.pending


def test_a_live_export_staging_folder_is_not_cleaned_but_a_stale_one_is(tmp_path):
    import os
    import time

    from resunet_gui.core.project import Project

    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    live = folder / ".out.tmp-0123abcd"
    stale = folder / ".out.tmp-89abcdef"
    for staging in (live, stale):
        (staging / "labels").mkdir(parents=True)
        (staging / "labels" / "a.txt").write_text("x")
    old = time.time() - 7200
    for p in (stale / "labels" / "a.txt", stale / "labels", stale):
        os.utime(p, (old, old))
    Project.open(folder).close()
    assert live.is_dir() and not stale.exists()
