"""MaskDocument: strokes as single undo steps, provenance, suggestion accept, listeners."""
from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from resunet_gui.annotation.document import MaskDocument, Provenance
from resunet_gui.core.types import BBox


def _stroke(doc: MaskDocument, points, radius=4, value=1, only_over=None):
    doc.begin_stroke()
    for p0, p1 in pairwise(points):
        doc.paint(p0, p1, radius, value, only_over=only_over)
    return doc.end_stroke()


def test_many_segment_stroke_is_one_undo_step():
    doc = MaskDocument(np.zeros((200, 300), np.uint8), tile=32)
    pts = [(10 + 5 * i, 20 + 3 * i) for i in range(51)]
    box = _stroke(doc, pts, radius=6, value=2)
    painted = doc.labels.copy()
    assert len(doc.history) == 1 and (painted == 2).sum() > 0
    assert box is not None and painted[box.slices].sum() == painted.sum()
    assert doc.undo() == box
    assert not doc.labels.any()
    assert doc.redo() == box
    assert np.array_equal(doc.labels, painted)


def test_stroke_across_many_tiles_stores_only_changed_pixels():
    doc = MaskDocument(np.zeros((1024, 1024), np.uint8), tile=64)
    _stroke(doc, [(0, 0), (1023, 1023)], radius=3, value=1)  # diagonal: bbox is whole image
    assert doc.compact_history() is False  # all compressed at once: nothing left pending
    # per-tile storage keeps the step far smaller than a whole-image before/after pair
    assert doc.history.nbytes < 1024 * 1024 // 16
    doc.undo()
    assert not doc.labels.any()


def test_a_stroke_is_compressed_in_slices_later_and_undoes_exactly_before_and_after():
    rng = np.random.default_rng(0)
    original = (rng.random((512, 512)) > 0.5).astype(np.uint8)  # noise: zlib has work to do
    doc = MaskDocument(original.copy(), tile=64)
    _stroke(doc, [(0, 0), (511, 300)], radius=6, value=2)
    painted = doc.labels.copy()
    raw = doc.history.nbytes
    assert doc.compact_history(max_regions=2) is True  # a slice: more remains
    assert doc.history.nbytes < raw
    doc.undo()  # a half-compressed step restores the original exactly
    assert np.array_equal(doc.labels, original)
    doc.redo()
    assert np.array_equal(doc.labels, painted)
    while doc.compact_history(max_regions=2):
        pass
    doc.undo()
    assert np.array_equal(doc.labels, original)


def test_a_new_step_compresses_the_stroke_before_it_when_nobody_compacted():
    doc = MaskDocument(np.zeros((512, 512), np.uint8), tile=64)
    _stroke(doc, [(0, 0), (511, 511)], radius=4, value=1)
    _stroke(doc, [(0, 511), (511, 0)], radius=4, value=2)
    assert len(doc.history) == 2 and doc.history.pending == 1  # at most the newest waits
    doc.undo()
    doc.undo()
    assert not doc.labels.any()


def test_stroke_that_changes_nothing_makes_no_step():
    doc = MaskDocument(np.ones((50, 50), np.uint8))
    assert _stroke(doc, [(10, 10), (20, 20)], value=1) is None
    assert len(doc.history) == 0 and not doc.dirty


def test_paint_outside_a_stroke_is_its_own_step():
    doc = MaskDocument(np.zeros((50, 50), np.uint8))
    doc.paint((10, 10), (12, 10), 3, 1)
    doc.paint((30, 30), (32, 30), 3, 1)
    assert len(doc.history) == 2


def test_undo_during_open_stroke_commits_then_undoes_it():
    doc = MaskDocument(np.zeros((50, 50), np.uint8))
    doc.begin_stroke()
    doc.paint((10, 10), (20, 10), 3, 1)
    assert doc.undo() is not None
    assert not doc.in_stroke and not doc.labels.any()


def test_listeners_get_bbox_and_after_patch_on_commit_undo_redo():
    doc = MaskDocument(np.zeros((100, 100), np.uint8))
    seen: list[tuple[BBox, np.ndarray]] = []
    doc.add_listener(lambda box, patch: seen.append((box, patch)))
    _stroke(doc, [(20, 20), (40, 30)], radius=5, value=3)
    doc.undo()
    doc.redo()
    assert len(seen) == 3
    for box, patch in seen[:1] + seen[2:]:
        assert (patch == 3).sum() > 0 and patch.shape == (box.height, box.width)
    assert not seen[1][1].any()  # undo delivers the restored (empty) pixels
    rebuilt = np.zeros_like(doc.labels)
    for box, patch in seen:  # replaying patches in order rebuilds the labels (journal contract)
        rebuilt[box.slices] = patch
    assert np.array_equal(rebuilt, doc.labels)


def test_failing_listener_does_not_stop_the_others():
    doc = MaskDocument(np.zeros((30, 30), np.uint8))
    got = []

    def bad(box, patch):
        raise RuntimeError("canvas gone")

    doc.add_listener(bad)
    doc.add_listener(lambda box, patch: got.append(box))
    with pytest.raises(RuntimeError):
        doc.paint((5, 5), (6, 6), 2, 1)
    assert len(got) == 1 and len(doc.history) == 1


def test_accept_suggestion_is_one_undoable_step_marking_provenance():
    labels = np.zeros((64, 64), np.uint8)
    labels[0:5, 0:5] = 2
    suggestion = np.zeros((64, 64), np.uint8)
    suggestion[10:30, 10:30] = 1
    doc = MaskDocument(labels.copy(), suggestion=suggestion)
    doc.accept_suggestion()
    assert np.array_equal(doc.labels, suggestion)
    assert (doc.provenance == Provenance.SUGGESTED).all()
    assert doc.corrected_fraction() == 0.0
    doc.undo()
    assert np.array_equal(doc.labels, labels)
    assert not doc.provenance.any()


def test_corrections_on_suggestion_and_scratch_paint_are_tracked():
    suggestion = np.zeros((40, 50), np.uint8)  # 2000 suggested pixels
    doc = MaskDocument(np.zeros((40, 50), np.uint8), suggestion=suggestion)
    doc.paint((5, 5), (5, 5), 3, 1)  # before accepting: painted from scratch
    assert (doc.provenance == Provenance.SCRATCH).sum() == (doc.labels == 1).sum()
    doc.accept_suggestion()
    doc.fill((0, 0), 1)  # whole image becomes 1: every suggested pixel corrected
    assert doc.corrected_fraction() == 1.0
    doc.undo()
    doc.polygon([(0, 0), (9, 0), (9, 9), (0, 9)], 2)  # 10x10 = 100 pixels corrected
    assert (doc.provenance == Provenance.CORRECTED).sum() == 100
    assert doc.corrected_fraction() == pytest.approx(100 / 2000)
    doc.paint((30, 30), (30, 30), 2, 0)  # painting the same class changes nothing
    assert doc.corrected_fraction() == pytest.approx(100 / 2000)


def test_fill_polygon_lasso_replace_are_undoable_steps():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, (60, 60), dtype=np.uint8)
    doc = MaskDocument(labels.copy())
    states = [labels.copy()]
    for op in (lambda: doc.fill((30, 30), 7), lambda: doc.polygon([(5, 5), (40, 8), (20, 50)], 4),
               lambda: doc.lasso_erase([(0, 0), (30, 0), (30, 30)]),
               lambda: doc.replace_class(2, 9)):
        assert op() is not None
        states.append(doc.labels.copy())
    assert len(doc.history) == 4 and len({s.tobytes() for s in states}) == 5
    for expected in reversed(states[:-1]):
        doc.undo()
        assert np.array_equal(doc.labels, expected)


def test_only_over_stroke_protects_classes_and_undoes():
    labels = np.zeros((50, 50), np.uint8)
    labels[:, 25:] = 3
    doc = MaskDocument(labels.copy())
    _stroke(doc, [(0, 25), (49, 25)], radius=10, value=1, only_over=0)
    assert (doc.labels[:, 25:] == 3).all() and (doc.labels == 1).any()
    doc.undo()
    assert np.array_equal(doc.labels, labels)


def test_snapshot_waits_for_stroke_end_and_dirty_tracks_saves():
    doc = MaskDocument(np.zeros((20, 20), np.uint8))
    doc.begin_stroke()
    doc.paint((5, 5), (6, 6), 2, 1)
    assert doc.snapshot() is None
    doc.end_stroke()
    snap = doc.snapshot()
    assert snap is not None and np.array_equal(snap[0], doc.labels) and doc.dirty
    doc.paint((10, 10), (10, 10), 1, 2)
    doc.mark_saved(snap[1])  # an older snapshot does not clear dirty
    assert doc.dirty
    doc.mark_saved(doc.version)
    assert not doc.dirty


def test_bad_layers_are_rejected():
    with pytest.raises(ValueError):
        MaskDocument(np.zeros((5, 5), np.int32))
    with pytest.raises(ValueError):
        MaskDocument(np.zeros((5, 5), np.uint8), suggestion=np.zeros((6, 5), np.uint8))


def test_stroke_and_undo_on_large_mask_allocate_only_stroke_sized_memory():
    import tracemalloc

    doc = MaskDocument(np.zeros((4096, 4096), np.uint8))  # 16 MiB per layer
    pts = [(2000 + 8 * i, 2000 + 3 * i) for i in range(51)]
    tracemalloc.start()
    try:
        _stroke(doc, pts, radius=30, value=1)
        doc.undo()
        doc.redo()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 2**20  # no full-image copy anywhere in paint/end_stroke/undo/redo
    assert (doc.labels == 1).sum() > 0


def test_brush_bench_reports_every_size_memory_and_targets(capsys):
    import argparse

    from resunet_gui.bench import brush as bench_brush

    parser = argparse.ArgumentParser()
    bench_brush.add_arguments(parser)
    args = parser.parse_args(["--brush-sizes", "128", "256", "--brush-strokes", "2",
                              "--brush-memory-size", "256", "--brush-memory-strokes", "20"])
    result = bench_brush.run_brush_bench(args)
    assert [r["size"] for r in result["sizes"]] == [128, 256]
    for row in result["sizes"]:
        assert row["segments"] == 2 * bench_brush.SEGMENTS_PER_STROKE
        assert 0 < row["segment"]["median_ms"] <= row["segment"]["max_ms"]
        assert row["undo"]["median_ms"] > 0
    assert result["memory"]["history_steps"] == 21  # 20 strokes + the accepted suggestion
    assert set(result["targets"]) == {"segment_median_le_0.3ms", "undo_le_2ms",
                                      "largest_within_1.5x_of_smallest"}
    bench_brush.print_report(result)
    assert "256x256" in capsys.readouterr().out
