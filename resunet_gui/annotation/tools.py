"""Pure painting tools on a uint8 label mask (H x W).

Every function edits ``mask`` in place and returns the :class:`BBox` it may have changed
(empty when nothing could change). Work is done on ``mask[bbox.slices]`` views with shifted
coordinates so the cost of a brush segment depends on the brush, never on the image size.
Points are ``(x, y)`` in image pixels.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from resunet_gui.core.types import BBox

Point = tuple[float, float]

_SHIFT = 4  # fractional bits for cv2 sub-pixel polygon corners
_SCALE = 1 << _SHIFT
_FLOOD_START = 512  # first window side tried by flood_region; doubles until the region fits


def _check_mask(mask: np.ndarray) -> None:
    if mask.ndim != 2 or mask.dtype != np.uint8:
        raise ValueError(f"mask must be a 2-D uint8 array, got {mask.dtype} {mask.shape}")


def _check_value(value: int) -> int:
    value = int(value)
    if not 0 <= value <= 255:
        raise ValueError(f"class value must be in 0..255, got {value}")
    return value


def segment_bbox(shape: tuple[int, int], p0: Point, p1: Point, radius: float) -> BBox:
    """Pixels a round brush of ``radius`` moved from ``p0`` to ``p1`` may touch, clipped."""
    r = max(0, int(math.ceil(radius)))
    x0, y0 = round(p0[0]), round(p0[1])
    x1, y1 = round(p1[0]), round(p1[1])
    box = BBox(min(y0, y1) - r, min(x0, x1) - r, max(y0, y1) + r + 1, max(x0, x1) + r + 1)
    return box.clip(shape[0], shape[1])


def _draw_capsule(canvas: np.ndarray, c0: tuple[int, int], c1: tuple[int, int], r: int,
                  color: int) -> None:
    """Disks of radius ``r`` at both ends joined by a 2r-wide band: the round brush footprint."""
    cv2.circle(canvas, c0, r, color, -1)
    if c1 == c0:
        return
    cv2.circle(canvas, c1, r, color, -1)
    dx, dy = c1[0] - c0[0], c1[1] - c0[1]
    length = math.hypot(dx, dy)
    nx, ny = -dy / length * r, dx / length * r
    corners = np.array(
        [[c0[0] + nx, c0[1] + ny], [c1[0] + nx, c1[1] + ny],
         [c1[0] - nx, c1[1] - ny], [c0[0] - nx, c0[1] - ny]], dtype=np.float64)
    cv2.fillConvexPoly(canvas, np.round(corners * _SCALE).astype(np.int32), color,
                       lineType=cv2.LINE_8, shift=_SHIFT)


def paint_segment(mask: np.ndarray, p0: Point, p1: Point, radius: float, value: int, *,
                  only_over: int | None = None) -> BBox:
    """Paint a round brush (or eraser: ``value=0``) along ``p0 -> p1``.

    ``only_over`` restricts the stroke to pixels currently of that class (protects the others).
    Only the segment's bounding box is read or written; temporaries are bbox-sized.
    """
    value = _check_value(value)
    _check_mask(mask)
    box = segment_bbox(mask.shape, p0, p1, radius)
    if box.empty:
        return box
    r = max(0, int(math.ceil(radius)))
    c0 = (round(p0[0]) - box.x0, round(p0[1]) - box.y0)
    c1 = (round(p1[0]) - box.x0, round(p1[1]) - box.y0)
    view = mask[box.slices]
    if only_over is None:
        _draw_capsule(view, c0, c1, r, value)
        return box
    stamp = np.zeros(view.shape, np.uint8)
    _draw_capsule(stamp, c0, c1, r, 1)
    np.putmask(view, (stamp != 0) & (view == np.uint8(only_over)), np.uint8(value))
    return box


def flood_region(mask: np.ndarray, point: Point) -> tuple[BBox, np.ndarray]:
    """4-connected region of the class under ``point``: (its bbox, bool mask within the bbox).

    Runs cv2.floodFill in mask-only mode on a window around the seed that doubles until the
    region no longer reaches an inner window edge, so the cost follows the region, not the image.
    """
    _check_mask(mask)
    h, w = mask.shape
    x, y = round(point[0]), round(point[1])
    if not (0 <= x < w and 0 <= y < h):
        return BBox(0, 0, 0, 0), np.zeros((0, 0), bool)
    half = _FLOOD_START // 2
    while True:
        win = BBox(y - half, x - half, y + half, x + half).clip(h, w)
        view = mask[win.slices]
        ffmask = np.zeros((win.height + 2, win.width + 2), np.uint8)
        flags = 4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
        _, _, _, rect = cv2.floodFill(view, ffmask, (x - win.x0, y - win.y0), 0, 0, 0, flags)
        rx, ry, rw, rh = rect
        inner_hit = ((rx == 0 and win.x0 > 0) or (ry == 0 and win.y0 > 0)
                     or (rx + rw == win.width and win.x1 < w)
                     or (ry + rh == win.height and win.y1 < h))
        if not inner_hit:
            box = BBox(win.y0 + ry, win.x0 + rx, win.y0 + ry + rh, win.x0 + rx + rw)
            region = ffmask[1 + ry:1 + ry + rh, 1 + rx:1 + rx + rw].astype(bool)
            return box, region
        half *= 2


def flood_fill(mask: np.ndarray, point: Point, value: int) -> BBox:
    """Fill the 4-connected region of equal class under ``point`` with ``value``."""
    value = _check_value(value)
    box, region = flood_region(mask, point)
    if box.empty:
        return box
    view = mask[box.slices]
    np.putmask(view, region, np.uint8(value))
    return box


def polygon_bbox(shape: tuple[int, int], points: Sequence[Point]) -> BBox:
    """Bounding box of a polygon's pixels, clipped to the image."""
    if len(points) == 0:
        return BBox(0, 0, 0, 0)
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    box = BBox(math.floor(min(ys)), math.floor(min(xs)),
               math.ceil(max(ys)) + 1, math.ceil(max(xs)) + 1)
    return box.clip(shape[0], shape[1])


def fill_polygon(mask: np.ndarray, points: Sequence[Point], value: int) -> BBox:
    """Fill a closed polygon (any shape, even self-intersecting) with ``value``."""
    value = _check_value(value)
    _check_mask(mask)
    box = polygon_bbox(mask.shape, points)
    if box.empty or len(points) < 3:
        return BBox(0, 0, 0, 0)
    pts = np.asarray(points, np.float64) - (box.x0, box.y0)
    cv2.fillPoly(mask[box.slices], [np.round(pts * _SCALE).astype(np.int32)], value,
                 lineType=cv2.LINE_8, shift=_SHIFT)
    return box


def erase_lasso(mask: np.ndarray, points: Sequence[Point], erase_value: int = 0) -> BBox:
    """Set every pixel inside the lasso outline to ``erase_value`` (background by default)."""
    return fill_polygon(mask, points, erase_value)


def class_bbox(mask: np.ndarray, value: int) -> BBox:
    """Bounding box of all pixels of class ``value`` (empty if none)."""
    _check_mask(mask)
    hit = mask == np.uint8(_check_value(value))
    rows = np.flatnonzero(hit.any(axis=1))
    if rows.size == 0:
        return BBox(0, 0, 0, 0)
    cols = np.flatnonzero(hit[rows[0]:rows[-1] + 1].any(axis=0))
    return BBox(int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)


def replace_class(mask: np.ndarray, a: int, b: int) -> BBox:
    """Replace class ``a`` by ``b`` over the whole image; returns the bbox of what changed."""
    a, b = _check_value(a), _check_value(b)
    box = class_bbox(mask, a)
    if box.empty or a == b:
        return BBox(0, 0, 0, 0)
    view = mask[box.slices]
    view[view == a] = b
    return box
