"""Outline mode: labels drawn as class-coloured contours over a faint fill, so the image
under a label stays visible (red polyps on red tissue).

The contour array is recomputed only inside the rectangle a step touched (plus a margin),
like the label layer itself: a stroke costs a small min/max filter, never a full image.
"""
from __future__ import annotations

import cv2
import numpy as np

from resunet_gui.core.types import BBox
from resunet_gui.qt.layers import IndexedLayer

WIDTH = 2  # contour width in image pixels
_KERNEL = np.ones((2 * WIDTH + 1, 2 * WIDTH + 1), np.uint8)


def contour(labels: np.ndarray) -> np.ndarray:
    """``labels`` where a different label lies within ``WIDTH`` pixels, else 0."""
    high = cv2.dilate(labels, _KERNEL, borderType=cv2.BORDER_REPLICATE)
    low = cv2.erode(labels, _KERNEL, borderType=cv2.BORDER_REPLICATE)
    return np.where(high != low, labels, 0).astype(np.uint8)


class OutlineLayer(IndexedLayer):
    """Contours of the label array it follows; hidden unless outline mode is on."""

    def __init__(self) -> None:
        super().__init__()
        self._labels: np.ndarray | None = None
        self.setVisible(False)

    def follow(self, labels: np.ndarray | None) -> None:
        """Track a new label array (a new image); computes the contours if visible."""
        self._labels = labels
        self.set_array(None if labels is None or not self.isVisible()
                       else np.ascontiguousarray(contour(labels)))

    def set_enabled(self, on: bool) -> None:
        self.setVisible(on)
        self.follow(self._labels)

    def refresh(self, bbox: BBox | None) -> None:
        """Recompute the contours around ``bbox`` (None: everything) after an edit."""
        if not self.isVisible() or self._labels is None or self.array is None:
            return
        if self._labels.shape != self.array.shape:
            self.follow(self._labels)
            return
        if bbox is None:
            self.array[:] = contour(self._labels)
            self.update()
            return
        h, w = self._labels.shape
        m = 2 * WIDTH + 1
        outer = BBox(bbox.y0 - m, bbox.x0 - m, bbox.y1 + m, bbox.x1 + m).clip(h, w)
        inner = BBox(bbox.y0 - WIDTH - 1, bbox.x0 - WIDTH - 1,
                     bbox.y1 + WIDTH + 1, bbox.x1 + WIDTH + 1).clip(h, w)
        local = contour(np.ascontiguousarray(self._labels[outer.slices]))
        ys = slice(inner.y0 - outer.y0, inner.y1 - outer.y0)
        xs = slice(inner.x0 - outer.x0, inner.x1 - outer.x0)
        self.array[inner.slices] = local[ys, xs]
        self.update_bbox(inner)
