"""core.journal: append/replay/clear, torn and corrupt records, failed appends, kill -9."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from resunet_gui.core import journal as journal_mod
from resunet_gui.core.errors import StorageError
from resunet_gui.core.journal import Journal
from resunet_gui.core.types import BBox


def _edits(n: int, shape=(64, 80), seed=0):
    """n random (bbox, patch) steps and the mask they produce from zeros."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, np.uint8)
    steps, states = [], [mask.copy()]
    for _ in range(n):
        y0, x0 = rng.integers(0, shape[0] - 1), rng.integers(0, shape[1] - 1)
        y1, x1 = rng.integers(y0 + 1, shape[0] + 1), rng.integers(x0 + 1, shape[1] + 1)
        bbox = BBox(int(y0), int(x0), int(y1), int(x1))
        patch = rng.integers(0, 4, (bbox.height, bbox.width), dtype=np.uint8)
        mask[bbox.slices] = patch
        steps.append((bbox, patch))
        states.append(mask.copy())
    return steps, states


def test_replay_rebuilds_the_edited_mask_and_clear_forgets(tmp_path):
    j = Journal(tmp_path / "journal")
    steps, states = _edits(12)
    for bbox, patch in steps:
        j.append("img one", bbox, patch)
    assert j.pending() == ["img one"] and j.count("img one") == 12
    mask = np.zeros((64, 80), np.uint8)
    assert j.replay("img one", mask) == 12
    np.testing.assert_array_equal(mask, states[-1])
    j.clear("img one")
    assert j.pending() == [] and j.replay("img one", mask) == 0


def test_replay_onto_an_already_saved_mask_is_idempotent(tmp_path):
    j = Journal(tmp_path / "j")
    steps, states = _edits(8)
    for bbox, patch in steps:
        j.append("a", bbox, patch)
    saved = states[-1].copy()  # crash after saving the mask but before clear()
    j.replay("a", saved)
    np.testing.assert_array_equal(saved, states[-1])


def test_every_truncation_of_the_last_record_keeps_the_earlier_ones(tmp_path):
    j = Journal(tmp_path / "j")
    steps, states = _edits(5)
    sizes = []
    for bbox, patch in steps:
        j.append("s", bbox, patch)
        sizes.append(j.path_for("s").stat().st_size)
    j.close()
    full = j.path_for("s").read_bytes()
    for cut in range(sizes[-2], sizes[-1]):  # a kill at any byte of the last append
        j.path_for("s").write_bytes(full[:cut])
        mask = np.zeros((64, 80), np.uint8)
        assert Journal(tmp_path / "j").replay("s", mask) == 4
        np.testing.assert_array_equal(mask, states[4])


def test_corrupt_record_stops_replay_at_that_record(tmp_path):
    j = Journal(tmp_path / "j")
    steps, states = _edits(6)
    sizes = []
    for bbox, patch in steps:
        j.append("s", bbox, patch)
        sizes.append(j.path_for("s").stat().st_size)
    data = bytearray(j.path_for("s").read_bytes())
    data[sizes[2] + 12] ^= 0xFF  # inside record 4's payload
    j.path_for("s").write_bytes(bytes(data))
    mask = np.zeros((64, 80), np.uint8)
    assert Journal(tmp_path / "j").replay("s", mask) == 3
    np.testing.assert_array_equal(mask, states[3])


def test_append_after_a_torn_tail_is_still_replayed(tmp_path):
    j = Journal(tmp_path / "j")
    steps, _ = _edits(4)
    for bbox, patch in steps[:3]:
        j.append("s", bbox, patch)
    j.close()
    data = j.path_for("s").read_bytes()
    j.path_for("s").write_bytes(data[:-5])  # last record torn by a crash
    j2 = Journal(tmp_path / "j")
    j2.append("s", *steps[3])
    mask = np.zeros((64, 80), np.uint8)
    assert j2.replay("s", mask) == 3  # 2 intact + the new one
    np.testing.assert_array_equal(mask[steps[3][0].slices], steps[3][1])


def test_failed_append_raises_storage_error_and_leaves_journal_usable(tmp_path, monkeypatch):
    j = Journal(tmp_path / "j")
    steps, states = _edits(3)
    j.append("s", *steps[0])
    real_write = os.write
    calls = {"n": 0}

    def half_then_full(fd, data):
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_mod.os, "write", half_then_full)
    with pytest.raises(StorageError, match="disk full"):
        j.append("s", *steps[1])
    monkeypatch.undo()
    j.append("s", *steps[2])
    mask = np.zeros((64, 80), np.uint8)
    assert j.replay("s", mask) == 2
    expected = states[1].copy()
    expected[steps[2][0].slices] = steps[2][1]
    np.testing.assert_array_equal(mask, expected)


def test_read_only_journal_refuses_appends(tmp_path):
    j = Journal(tmp_path / "j", read_only=True)
    with pytest.raises(StorageError, match="read-only"):
        j.append("s", BBox(0, 0, 1, 1), np.zeros((1, 1), np.uint8))
    assert not (tmp_path / "j").exists()


def test_bad_patch_shape_is_rejected(tmp_path):
    with pytest.raises(ValueError):
        Journal(tmp_path / "j").append("s", BBox(0, 0, 2, 2), np.zeros((3, 3), np.uint8))


def test_records_outside_the_mask_stop_replay(tmp_path):
    j = Journal(tmp_path / "j")
    j.append("s", BBox(0, 0, 2, 2), np.ones((2, 2), np.uint8))
    j.append("s", BBox(10, 10, 20, 20), np.ones((10, 10), np.uint8))
    mask = np.zeros((8, 8), np.uint8)
    assert j.replay("s", mask) == 1


def test_stems_with_odd_characters_are_kept_apart(tmp_path):
    j = Journal(tmp_path / "j")
    for stem in ("a b", "ä/ø", "a_b"):
        j.append(stem, BBox(0, 0, 1, 1), np.array([[len(stem)]], np.uint8))
    assert sorted(j.pending()) == sorted(["a b", "ä/ø", "a_b"])


_CHILD = textwrap.dedent("""
    import sys, numpy as np
    from resunet_gui.core.journal import Journal
    from resunet_gui.core.types import BBox
    j = Journal(sys.argv[1])
    i = 0
    while True:
        v = i % 250
        j.append("s", BBox(0, 0, 64, 64), np.full((64, 64), v, np.uint8))
        print(i, flush=True)
        i += 1
""")


@pytest.mark.slow
def test_kill_9_during_appends_leaves_a_replayable_prefix(tmp_path):
    folder = tmp_path / "j"
    for kill in range(3):
        proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(folder)],
                                stdout=subprocess.PIPE, text=True)
        acked = -1
        deadline = time.monotonic() + 30
        while acked < 5 + kill * 7 and time.monotonic() < deadline:
            acked = int(proc.stdout.readline())
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        mask = np.zeros((64, 64), np.uint8)
        n = Journal(folder).replay("s", mask)
        assert n >= acked + 1  # every acknowledged append survived (earlier runs add more)
        assert len(np.unique(mask)) == 1  # a whole record, never a partial patch
        Journal(folder).clear("s")
