"""Click to fix: one click flips a whole wrong region, bounded by the model's probabilities.

A click at ``point`` with the active class ``c`` means either "this blob is not ``c``"
(the pixel is labelled ``c``: a false positive) or "this is ``c``" (it is not: a missed
object). The region that flips is the 4-connected component around the click of

- false positive: pixels labelled ``c`` whose probability for ``c`` is at most
  ``p + (1 - p) / 2`` (``p`` = probability at the click): pixels about as unsure as the
  clicked one go, the model's much more confident ones (a true object touching the blob)
  stay. They become the model's next best class.
- missed object: pixels not labelled ``c`` whose probability for ``c`` passes a
  threshold that is lowered around the click: ``min(p, 0.5) / 2`` at the click, rising
  back to 0.5 with distance (Gaussian falloff, ``sigma`` = 10 % of the longer side, at
  least 24 px). A faint object the model half saw grows under the click without
  spilling into the far background. They become ``c``.

Pixels the user painted (provenance CORRECTED or SCRATCH) are never crossed or changed:
what a person set by hand outranks the model. The clicked pixel itself always flips
unless it was painted.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from resunet_gui.core.types import BBox

Point = tuple[float, float]
PAINTED_MIN = 2  # provenance CORRECTED (2) and SCRATCH (3) were set by the user


@dataclass
class RegionFix:
    """What a click would change: ``region`` (bool, within ``box``) gets ``values``."""

    box: BBox
    region: np.ndarray
    values: np.ndarray  # uint8, same shape as region
    kind: str  # "remove" (false positive) | "fill" (missed object) | "none"

    @property
    def pixels(self) -> int:
        return int(self.region.sum())


def _none() -> RegionFix:
    return RegionFix(BBox(0, 0, 0, 0), np.zeros((0, 0), bool), np.zeros((0, 0), np.uint8),
                     "none")


def _falloff_threshold(shape: tuple[int, int], x: int, y: int, t0: float) -> np.ndarray:
    h, w = shape
    sigma = max(24.0, 0.1 * max(h, w))
    yy = (np.arange(h, dtype=np.float32) - y)[:, None] ** 2
    xx = (np.arange(w, dtype=np.float32) - x)[None, :] ** 2
    near = np.exp(-(yy + xx) / np.float32(2 * sigma * sigma))
    threshold: np.ndarray = (0.5 - (0.5 - t0) * near).astype(np.float32)
    return threshold


def _component(allowed: np.ndarray, x: int, y: int) -> np.ndarray:
    """4-connected component of ``allowed`` containing (x, y) (seed always included)."""
    allowed = allowed.astype(np.uint8)
    allowed[y, x] = 1
    _n, cc = cv2.connectedComponents(allowed, connectivity=4)
    component: np.ndarray = cc == cc[y, x]
    return component


def plan_fix(labels: np.ndarray, provenance: np.ndarray, probs: np.ndarray, point: Point,
             value: int) -> RegionFix:
    """The region a click at ``point`` with class ``value`` flips (nothing is modified)."""
    h, w = labels.shape
    x, y = int(round(point[0])), int(round(point[1]))
    if probs.ndim != 3 or probs.shape[1:] != (h, w) or not 0 <= value < probs.shape[0]:
        raise ValueError(f"probabilities {probs.shape} do not fit a {h}x{w} mask with "
                         f"class {value}")
    if not (0 <= x < w and 0 <= y < h) or provenance[y, x] >= PAINTED_MIN:
        return _none()
    free = provenance < PAINTED_MIN
    p_c = probs[value]
    p = float(p_c[y, x])
    remove = bool(labels[y, x] == value)
    if remove:
        allowed = free & (labels == value) & (p_c <= p + (1.0 - p) / 2)
    else:
        t = _falloff_threshold((h, w), x, y, min(p, 0.5) / 2)
        allowed = free & (labels != value) & (p_c >= t)
    region = _component(allowed, x, y)
    ys, xs = np.nonzero(region.any(axis=1))[0], np.nonzero(region.any(axis=0))[0]
    box = BBox(int(ys[0]), int(xs[0]), int(ys[-1]) + 1, int(xs[-1]) + 1)
    local = region[box.slices]
    if remove:  # the model's next best class, computed inside the region's box only
        others = probs[(slice(None),) + tuple(box.slices)].astype(np.float32)
        others[value] = -1.0
        values = others.argmax(axis=0).astype(np.uint8)[local]
    else:
        values = np.full(int(local.sum()), value, np.uint8)
    return RegionFix(box, local, values, "remove" if remove else "fill")


def apply_fix(labels: np.ndarray, fix: RegionFix) -> BBox:
    """Write a planned fix into ``labels`` in place; returns its bbox."""
    if fix.kind == "none":
        return fix.box
    view = labels[fix.box.slices]
    view[fix.region] = fix.values
    return fix.box
