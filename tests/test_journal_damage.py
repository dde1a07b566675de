"""core.journal against damage and links: a damaged journal is kept and counted, a torn tail
is not damage, a journal that is a link is never read or written."""
from __future__ import annotations

import numpy as np
import pytest

from resunet_gui.core import journal as journal_mod
from resunet_gui.core.errors import StorageError
from resunet_gui.core.journal import Journal
from resunet_gui.core.types import BBox


def _strokes(j: Journal, n: int) -> list[np.ndarray]:
    """Append ``n`` strokes (row i set to i + 1) and return the mask after each."""
    mask = np.zeros((8, 8), np.uint8)
    states = [mask.copy()]
    for i in range(n):
        patch = np.full((1, 8), i + 1, np.uint8)
        j.append("a", BBox(i, 0, i + 1, 8), patch)
        mask[i] = i + 1
        states.append(mask.copy())
    j.close()
    return states


def _record_ends(data: bytes) -> list[int]:
    head = journal_mod._parse_header(data)
    assert head is not None
    return [end for end, _bbox, _patch in journal_mod._records(data, head[1])]


def test_a_damaged_journal_is_kept_and_says_how_many_strokes_survived(tmp_path):
    j = Journal(tmp_path / "j")
    states = _strokes(j, 5)
    path = j.path_for("a")
    data = bytearray(path.read_bytes())
    ends = _record_ends(bytes(data))
    data[ends[2] - 2] ^= 0xFF  # inside the third record: the first two survive
    path.write_bytes(bytes(data))
    again = Journal(tmp_path / "j")
    mask = np.zeros((8, 8), np.uint8)
    assert again.replay("a", mask) == 2
    np.testing.assert_array_equal(mask, states[2])
    assert "2 stroke(s) were recovered" in again.damage["a"]
    kept = list(path.parent.glob(path.name + journal_mod.DAMAGED + "*"))
    assert len(kept) == 1 and kept[0].read_bytes() == bytes(data)
    assert again.pending() == ["a"]  # the kept copy is not taken for a journal


def test_a_torn_tail_is_not_reported_as_damage(tmp_path):
    j = Journal(tmp_path / "j")
    _strokes(j, 3)
    path = j.path_for("a")
    path.write_bytes(path.read_bytes()[:-3])  # a kill mid-append
    again = Journal(tmp_path / "j")
    assert again.replay("a", np.zeros((8, 8), np.uint8)) == 2 and "a" not in again.damage


def test_a_journal_that_is_a_link_is_never_read_or_written(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    folder = tmp_path / "j"
    folder.mkdir()
    j = Journal(folder)
    j.path_for("a").symlink_to(victim)
    with pytest.raises(StorageError, match="symbolic link"):
        j.append("a", BBox(0, 0, 1, 1), np.ones((1, 1), np.uint8))
    with pytest.raises(StorageError, match="symbolic link"):
        j.replay("a", np.zeros((4, 4), np.uint8))
    j.path_for("b").symlink_to("/dev/zero")
    assert j.pending() == [] and j.problems
    assert victim.read_bytes() == b"precious"
