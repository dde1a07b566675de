"""Shapes -> pixels, with the app's own polygon semantics and bounds on hostile coordinates.

Centre-convention rings (YOLO, labelme) are filled with ``annotation.tools.fill_polygon``,
the rasteriser of the polygon tool (cv2.fillPoly, 1/16-pixel vertices, outline included),
so a ring through pixel centres gives back exactly the pixels it was traced from.
COCO polygons (pixel-corner convention) and RLE decode the way pycocotools does; RLE is
decoded here in numpy because pycocotools writes past its buffer when counts lie.
"""
from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from resunet_gui.annotation.tools import fill_polygon

from .base import LabelImportError

MAX_VERTICES = 1 << 22
_MARGIN = 1.0  # coordinates may lie this many image sides outside the image


def as_points(values: Any, size: tuple[int, int], *, flat: bool = False) -> np.ndarray:
    """Nx2 float64 (x, y) from ``[[x, y], ...]`` (or a flat ``[x, y, x, y, ...]``).

    Raises LabelImportError for non-numbers, NaN/inf, or points absurdly far outside.
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise LabelImportError("points are not numbers") from None
    if arr.size == 0:
        return np.zeros((0, 2))
    if flat:
        if arr.ndim != 1 or arr.size % 2:
            raise LabelImportError("a flat point list needs an even number of numbers")
        arr = arr.reshape(-1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] > MAX_VERTICES:
        raise LabelImportError(f"points must be [x, y] pairs (got shape {arr.shape})")
    if not np.isfinite(arr).all():
        raise LabelImportError("points contain NaN or infinity")
    h, w = size
    lo = np.array([-_MARGIN * w, -_MARGIN * h])
    hi = np.array([(1 + _MARGIN) * w, (1 + _MARGIN) * h])
    if arr.size and ((arr < lo).any() or (arr > hi).any()):
        raise LabelImportError(f"points lie far outside the {w}x{h} image")
    return arr


def fill_ring(mask: np.ndarray, points: np.ndarray, value: int) -> bool:
    """Fill one centre-convention ring; False (nothing drawn) for fewer than 3 points."""
    if len(points) < 3:
        return False
    fill_polygon(mask, [(float(x), float(y)) for x, y in points], value)
    return True


def fill_circle(mask: np.ndarray, center: np.ndarray, edge: np.ndarray, value: int) -> None:
    """labelme's circle: centre point and a point on the rim, outline included."""
    radius = float(math.hypot(*(edge - center)))
    c = tuple(int(round(v * 16)) for v in center)
    cv2.circle(mask, c, int(round(radius * 16)), int(value), -1, lineType=cv2.LINE_8, shift=4)


def _leb128_counts(text: str) -> list[int]:
    """pycocotools' compressed RLE string -> run lengths (its ``rleFrString``)."""
    counts: list[int] = []
    p, n = 0, len(text)
    while p < n:
        x, k, more = 0, 0, True
        while more:
            if p >= n or k > 12:
                raise LabelImportError("compressed RLE string is corrupt")
            c = ord(text[p]) - 48
            if not 0 <= c < 64:
                raise LabelImportError("compressed RLE string holds a bad character")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def decode_rle(counts: Any, size: tuple[int, int]) -> np.ndarray:
    """Boolean HxW from COCO RLE counts (compressed string or list), checked to cover HxW."""
    h, w = size
    if isinstance(counts, bytes):
        counts = counts.decode("ascii", "replace")
    runs = _leb128_counts(counts) if isinstance(counts, str) else counts
    if not isinstance(runs, list) or not all(isinstance(c, int) and not isinstance(c, bool)
                                             for c in runs):
        raise LabelImportError("RLE counts must be a string or a list of integers")
    arr = np.asarray(runs, dtype=np.int64)
    if (arr < 0).any() or int(arr.sum()) != h * w:
        raise LabelImportError(f"RLE counts do not cover a {w}x{h} image")
    values = (np.arange(arr.size) % 2).astype(bool)
    return np.repeat(values, arr).reshape(w, h).T  # COCO RLE runs down columns


def coco_polygons(polys: Any, size: tuple[int, int]) -> np.ndarray:
    """Boolean HxW union of COCO polygons (pixel-corner convention, as pycocotools fills)."""
    h, w = size
    if not isinstance(polys, list) or not polys:
        raise LabelImportError("polygon segmentation must be a non-empty list of point lists")
    rings: list[list[float]] = []
    length = 0.0
    for poly in polys:
        pts = as_points(poly, size, flat=True)
        if len(pts) < 3:
            continue
        edges = np.abs(np.diff(np.vstack([pts, pts[:1]]), axis=0)).max(axis=1)
        length += float(edges.sum())
        rings.append(pts.ravel().tolist())
    if length > 8.0 * h * w + 64.0 * (h + w):  # bounds pycocotools' edge buffers
        raise LabelImportError("polygon outline is absurdly long for the image")
    if not rings:
        return np.zeros((h, w), bool)
    rle = mask_utils.merge(mask_utils.frPyObjects(rings, h, w))
    return mask_utils.decode(rle).astype(bool)
