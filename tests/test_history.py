"""Undo history: patch encoding, budget, redo semantics, and exactness (property test)."""
from __future__ import annotations

from itertools import pairwise

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resunet_gui.annotation.document import MaskDocument
from resunet_gui.annotation.history import History, Patch, Region, Step
from resunet_gui.core.types import BBox


def _step(layers: dict[str, np.ndarray], box: BBox, value: int) -> Step:
    before = {"labels": layers["labels"][box.slices].copy()}
    layers["labels"][box.slices] = value
    return Step("set", [Region.from_arrays(box, before, {"labels": layers["labels"][box.slices]})])


def test_patch_roundtrip_for_raw_zlib_and_constant_arrays():
    rng = np.random.default_rng(1)
    for arr in (rng.integers(0, 4, (10, 10), dtype=np.uint8),  # raw
                rng.integers(0, 4, (300, 300), dtype=np.uint8),  # zlib
                np.full((300, 300), 7, np.uint8)):  # const
        patch = Patch.encode(arr)
        assert np.array_equal(patch.decode(), arr)
    assert Patch.encode(np.full((300, 300), 7, np.uint8)).kind == "const"
    assert Patch.encode(rng.integers(0, 4, (300, 300), dtype=np.uint8)).kind == "zlib"


def test_undo_redo_restore_before_and_after_patches():
    layers = {"labels": np.zeros((20, 20), np.uint8)}
    hist = History()
    hist.push(_step(layers, BBox(2, 2, 8, 8), 1))
    hist.push(_step(layers, BBox(5, 5, 12, 12), 2))
    after = layers["labels"].copy()
    hist.undo(layers)
    assert not (layers["labels"] == 2).any()
    assert (layers["labels"][2:8, 2:8] == 1).all()
    hist.undo(layers)
    assert not layers["labels"].any()
    assert hist.undo(layers) is None
    hist.redo(layers)
    hist.redo(layers)
    assert np.array_equal(layers["labels"], after)
    assert hist.redo(layers) is None


def test_new_step_clears_redo_stack():
    layers = {"labels": np.zeros((20, 20), np.uint8)}
    hist = History()
    hist.push(_step(layers, BBox(0, 0, 5, 5), 1))
    hist.undo(layers)
    assert hist.can_redo
    hist.push(_step(layers, BBox(10, 10, 15, 15), 2))
    assert not hist.can_redo and len(hist) == 1


def test_oldest_steps_dropped_when_over_budget_newest_kept():
    rng = np.random.default_rng(2)
    layers = {"labels": rng.integers(0, 200, (256, 256), dtype=np.uint8)}
    one = _step(dict(layers), BBox(0, 0, 64, 64), 0).nbytes  # size of a random 64x64 step
    hist = History(max_bytes=3 * one + 10)
    for i in range(6):
        layers["labels"][...] = rng.integers(0, 200, (256, 256), dtype=np.uint8)
        hist.push(_step(layers, BBox(i * 10, 0, i * 10 + 64, 64), 250))
    assert len(hist) <= 3 and hist.dropped == 6 - len(hist)
    assert hist.nbytes <= hist.max_bytes
    tiny = History(max_bytes=1)
    tiny.push(_step(layers, BBox(0, 0, 64, 64), 9))
    assert len(tiny) == 1  # the newest step stays undoable even alone over budget


def test_pending_copies_count_in_the_budget_until_compacted_then_their_compressed_size():
    layers = {"labels": np.zeros((256, 256), np.uint8)}
    hist = History()
    for i in range(4):
        box = BBox(i * 40, 0, i * 40 + 64, 256)
        before = {"labels": layers["labels"][box.slices].copy()}
        layers["labels"][box.slices] = i + 1
        hist.push(Step("stroke", [Region.from_arrays(box, before, {
            "labels": layers["labels"][box.slices]}, defer=True)]))
    assert hist.pending == 1  # pushing a step compresses the ones before it
    raw = hist.nbytes
    assert hist.compact() is False and hist.pending == 0
    held = list(hist._undo) + list(hist._redo)
    assert hist.nbytes == sum(step.nbytes for step in held) < raw
    box = BBox(0, 0, 32, 32)
    before = {"labels": layers["labels"][box.slices].copy()}
    layers["labels"][box.slices] = 7
    hist.push(Step("stroke", [Region.from_arrays(box, before, {
        "labels": layers["labels"][box.slices]}, defer=True)]))
    hist.undo(layers)
    assert hist.pending == 1  # undone, still uncompressed (in the redo stack)
    hist.push(_step(layers, BBox(0, 0, 8, 8), 9))  # clears redo: nothing left to compress
    assert hist.pending == 0
    assert hist.nbytes == sum(step.nbytes for step in hist._undo)


H, W = 24, 32
coord = st.tuples(st.integers(-4, W + 4), st.integers(-4, H + 4))
value = st.integers(0, 3)
ops = st.one_of(
    st.tuples(st.just("stroke"), st.lists(coord, min_size=1, max_size=6), st.integers(0, 5),
              value, st.one_of(st.none(), value)),
    st.tuples(st.just("fill"), coord, value),
    st.tuples(st.just("polygon"), st.lists(coord, min_size=3, max_size=6), value),
    st.tuples(st.just("lasso"), st.lists(coord, min_size=3, max_size=6)),
    st.tuples(st.just("replace"), value, value),
    st.tuples(st.just("accept")),
    st.tuples(st.just("undo")),
    st.tuples(st.just("redo")),
    st.tuples(st.just("compact"), st.integers(0, 3)),  # 0: compress everything pending
)


def _run(doc: MaskDocument, op: tuple) -> object:
    kind = op[0]
    if kind == "stroke":
        _, pts, radius, val, only = op
        doc.begin_stroke()
        for p0, p1 in pairwise(pts + pts[-1:]):
            doc.paint(p0, p1, radius, val, only_over=only)
        return doc.end_stroke()
    if kind == "fill":
        return doc.fill(op[1], op[2])
    if kind == "polygon":
        return doc.polygon(op[1], op[2])
    if kind == "lasso":
        return doc.lasso_erase(op[1])
    if kind == "replace":
        return doc.replace_class(op[1], op[2])
    if kind == "accept":
        return doc.accept_suggestion()
    if kind == "compact":
        doc.compact_history(op[1] or None)
        return None
    return doc.undo() if kind == "undo" else doc.redo()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), sequence=st.lists(ops, max_size=25))
def test_any_sequence_then_undo_all_restores_original_bit_for_bit(seed, sequence):
    rng = np.random.default_rng(seed)
    original = rng.integers(0, 4, (H, W), dtype=np.uint8)
    suggestion = rng.integers(0, 4, (H, W), dtype=np.uint8)
    doc = MaskDocument(original.copy(), suggestion=suggestion, tile=8)
    states = [(original.copy(), doc.provenance.copy())]
    pos = 0
    for op in sequence:
        result = _run(doc, op)
        if op[0] == "undo":
            pos = max(0, pos - 1)
        elif op[0] == "redo":
            pos = min(len(states) - 1, pos + 1)
        elif result is not None:
            states = states[: pos + 1] + [(doc.labels.copy(), doc.provenance.copy())]
            pos += 1
        assert np.array_equal(doc.labels, states[pos][0])
        assert np.array_equal(doc.provenance, states[pos][1])
    while doc.undo() is not None:
        pass
    assert np.array_equal(doc.labels, original)
    assert not doc.provenance.any()
