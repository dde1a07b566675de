"""Painting tools: footprints, protection, fills, and bbox-bounded cost."""
from __future__ import annotations

import tracemalloc

import cv2
import numpy as np
import pytest

from resunet_gui.annotation import tools
from resunet_gui.core.types import BBox


def _disk(shape: tuple[int, int], cx: int, cy: int, r: int) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def _dist_to_segment(shape, p0, p1):
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(float)
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / (dx * dx + dy * dy), 0, 1)
    return np.hypot(xx - (x0 + t * dx), yy - (y0 + t * dy))


def test_single_dab_paints_exact_disk():
    mask = np.zeros((80, 80), np.uint8)
    box = tools.paint_segment(mask, (40, 40), (40, 40), 12, 3)
    assert np.array_equal(mask == 3, _disk(mask.shape, 40, 40, 12))
    assert box == BBox(28, 28, 53, 53)


def test_segment_covers_capsule_and_nothing_beyond_radius():
    mask = np.zeros((120, 160), np.uint8)
    p0, p1 = (20, 30), (130, 90)
    box = tools.paint_segment(mask, p0, p1, 10, 1)
    dist = _dist_to_segment(mask.shape, p0, p1)
    assert mask[dist <= 9.0].all()
    assert not mask[dist > 11.0].any()
    outside = np.ones(mask.shape, bool)
    outside[box.slices] = False
    assert not mask[outside].any()


def test_eraser_is_brush_with_background_value():
    mask = np.full((50, 50), 2, np.uint8)
    tools.paint_segment(mask, (25, 25), (25, 25), 5, 0)
    assert np.array_equal(mask == 0, _disk(mask.shape, 25, 25, 5))


def test_only_over_protects_other_classes():
    mask = np.zeros((60, 60), np.uint8)
    mask[:, 30:] = 2
    tools.paint_segment(mask, (10, 30), (50, 30), 15, 1, only_over=0)
    assert (mask[:, 30:] == 2).all()  # class 2 protected
    assert (mask[:, :30] == 1).sum() > 0
    assert set(np.unique(mask)) == {0, 1, 2}


def test_brush_clips_at_image_edges_and_ignores_off_image_segments():
    mask = np.zeros((20, 30), np.uint8)
    box = tools.paint_segment(mask, (-5, -5), (2, 1), 4, 1)
    assert box == BBox(0, 0, 6, 7)
    assert mask[0, 0] == 1
    assert tools.paint_segment(mask, (100, 100), (120, 100), 3, 1).empty


def test_brush_writes_only_inside_returned_bbox_on_large_mask():
    mask = np.zeros((2048, 2048), np.uint8)
    box = tools.paint_segment(mask, (1000, 1000), (1010, 1004), 30, 1)
    assert box.height == 65 and box.width == 71
    assert mask.sum() == mask[box.slices].sum() > 0


def test_brush_segment_allocates_only_bbox_sized_temporaries():
    mask = np.zeros((4096, 4096), np.uint8)
    tools.paint_segment(mask, (10, 10), (12, 12), 30, 1, only_over=0)  # warm up
    tracemalloc.start()
    try:
        tools.paint_segment(mask, (2000, 2000), (2008, 2005), 30, 1, only_over=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200_000  # a 4096^2 temporary would be 16 MB


def test_flood_fill_is_4_connected_and_matches_cv2_reference():
    rng = np.random.default_rng(0)
    mask = (rng.random((300, 300)) < 0.4).astype(np.uint8)
    ref = mask.copy()
    cv2.floodFill(ref, None, (150, 150), 7, 0, 0, 4)
    box = tools.flood_fill(mask, (150, 150), 7)
    assert np.array_equal(mask, ref)
    ys, xs = np.nonzero(mask == 7)
    assert box == BBox(ys.min(), xs.min(), ys.max() + 1, xs.max() + 1)


def test_flood_fill_region_larger_than_first_window_is_complete():
    mask = np.zeros((1500, 1400), np.uint8)
    mask[700, :] = 1  # a wall splitting the image
    box = tools.flood_fill(mask, (5, 1200), 3)
    assert box == BBox(701, 0, 1500, 1400)
    assert (mask[701:] == 3).all() and not (mask[:700] == 3).any()


def test_flood_fill_diagonal_gap_does_not_leak():
    mask = np.zeros((10, 10), np.uint8)
    mask[np.arange(10), np.arange(10)] = 1  # diagonal line of class 1
    tools.flood_fill(mask, (0, 9), 2)  # below-left triangle (x=0, y=9)
    assert mask[9, 0] == 2 and mask[0, 9] == 0


def test_fill_polygon_fills_rectangle_and_returns_bbox():
    mask = np.zeros((50, 50), np.uint8)
    box = tools.fill_polygon(mask, [(10, 5), (20, 5), (20, 15), (10, 15)], 4)
    assert (mask[5:16, 10:21] == 4).all()
    assert (mask == 4).sum() == 11 * 11
    assert box == BBox(5, 10, 16, 21)


def test_erase_lasso_clears_inside_only():
    mask = np.full((40, 40), 1, np.uint8)
    tools.erase_lasso(mask, [(5, 5), (30, 5), (30, 30), (5, 30)])
    assert (mask[5:31, 5:31] == 0).all()
    assert mask.sum() == 40 * 40 - 26 * 26


def test_replace_class_changes_only_a_and_returns_changed_bbox():
    mask = np.zeros((30, 30), np.uint8)
    mask[3:6, 4:9] = 2
    mask[20, 25] = 2
    mask[10, 10] = 1
    box = tools.replace_class(mask, 2, 5)
    assert box == BBox(3, 4, 21, 26)
    assert (mask == 5).sum() == 16 and mask[10, 10] == 1 and not (mask == 2).any()
    assert tools.replace_class(mask, 9, 1).empty


def test_bad_value_and_mask_are_rejected():
    mask = np.zeros((10, 10), np.uint8)
    with pytest.raises(ValueError):
        tools.paint_segment(mask, (1, 1), (2, 2), 1, 300)
    with pytest.raises(ValueError):
        tools.paint_segment(np.zeros((10, 10), np.float32), (1, 1), (2, 2), 1, 1)
