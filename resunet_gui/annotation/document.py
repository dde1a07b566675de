"""The mask being edited: labels, the model's suggestion, per-pixel provenance, undo history.

A brush stroke is many segments but one undo step. Instead of copying the image when a
stroke begins, the document copies each ``tile`` x ``tile`` block of the labels the first
time a segment touches it; at ``end_stroke`` every touched tile is diffed against its copy
and only the changed rectangle of each tile is stored. Cost and memory follow the stroke,
never the image size.

All mutations hold ``lock`` (an RLock) so a background autosave can take a consistent
:meth:`snapshot` between strokes.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from enum import IntEnum

import numpy as np

from resunet_gui.annotation import region_fix, tools
from resunet_gui.annotation.history import History, Patch, Region, Step
from resunet_gui.core.types import BBox

Listener = Callable[[BBox, np.ndarray], None]
Point = tuple[float, float]


class Provenance(IntEnum):
    """Where a pixel's label came from (values of the ``provenance`` layer)."""

    NONE = 0  # never touched: empty or loaded from disk
    SUGGESTED = 1  # copied from an accepted suggestion, unchanged since
    CORRECTED = 2  # came from a suggestion, then changed by the user
    SCRATCH = 3  # set by the user where no suggestion had been accepted


def _changed_box(changed: np.ndarray) -> BBox | None:
    """Tight bbox (local coordinates) of the True pixels, or None."""
    rows = np.flatnonzero(changed.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(changed[rows[0]:rows[-1] + 1].any(axis=0))
    return BBox(int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)


def _shift(box: BBox, dy: int, dx: int) -> BBox:
    return BBox(box.y0 + dy, box.x0 + dx, box.y1 + dy, box.x1 + dx)


def _check_layer(name: str, array: np.ndarray, shape: tuple[int, ...] | None = None) -> None:
    if array.ndim != 2 or array.dtype != np.uint8:
        raise ValueError(f"{name} must be a 2-D uint8 array, got {array.dtype} {array.shape}")
    if shape is not None and array.shape != shape:
        raise ValueError(f"{name} shape {array.shape} differs from labels {shape}")


class MaskDocument:
    """Editable label mask with stroke API, undoable operations and change listeners.

    ``labels`` is edited in place (not copied). Listeners ``cb(bbox, patch)`` run after each
    committed step, undo and redo, with a copy of the labels inside ``bbox``.
    """

    def __init__(self, labels: np.ndarray, suggestion: np.ndarray | None = None,
                 history: History | None = None, *, tile: int = 128) -> None:
        _check_layer("labels", labels)
        self.labels = labels
        self.suggestion: np.ndarray | None = None
        if suggestion is not None:
            self.set_suggestion(suggestion)
        # filled, not np.zeros: lazily-mapped zero pages would make the first strokes on a
        # huge image pay page faults (one per row per tile) inside end_stroke
        self.provenance = np.full(labels.shape, Provenance.NONE, np.uint8)
        self.history = history if history is not None else History()
        self.lock = threading.RLock()
        self.tile = int(tile)
        self.dirty = False
        self.version = 0  # bumped on every change of labels (commit, undo, redo)
        self._listeners: list[Listener] = []
        self._stroke: dict[tuple[int, int], np.ndarray] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape[0], self.labels.shape[1]

    @property
    def in_stroke(self) -> bool:
        return self._stroke is not None

    @property
    def layers(self) -> dict[str, np.ndarray]:
        return {"labels": self.labels, "provenance": self.provenance}

    def add_listener(self, callback: Listener) -> None:
        self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        self._listeners.remove(callback)

    # -- strokes -------------------------------------------------------------------------
    def begin_stroke(self) -> None:
        """Start collecting segments into one undo step (ends a stroke left open)."""
        with self.lock:
            if self._stroke is not None:
                self.end_stroke()
            self._stroke = {}

    def paint(self, p0: Point, p1: Point, radius: float, value: int,
              only_over: int | None = None) -> BBox:
        """Paint one brush segment; outside begin/end_stroke it is a one-segment stroke."""
        with self.lock:
            if self._stroke is None:
                self.begin_stroke()
                box = self.paint(p0, p1, radius, value, only_over)
                self.end_stroke()
                return box
            box = tools.segment_bbox(self.shape, p0, p1, radius)
            if box.empty:
                return box
            self._save_tiles(box)
            return tools.paint_segment(self.labels, p0, p1, radius, value, only_over=only_over)

    def _save_tiles(self, box: BBox) -> None:
        t = self.tile
        saved = self._stroke
        assert saved is not None
        for ty in range(box.y0 // t, (box.y1 - 1) // t + 1):
            for tx in range(box.x0 // t, (box.x1 - 1) // t + 1):
                if (ty, tx) not in saved:
                    saved[(ty, tx)] = self.labels[ty * t:(ty + 1) * t, tx * t:(tx + 1) * t].copy()

    def end_stroke(self) -> BBox | None:
        """Commit the stroke as one undo step; returns its bbox, or None if nothing changed."""
        with self.lock:
            tiles, self._stroke = self._stroke, None
            if not tiles:
                return None
            regions = []
            for (ty, tx), before in tiles.items():
                y0, x0 = ty * self.tile, tx * self.tile
                tile_box = BBox(y0, x0, y0 + before.shape[0], x0 + before.shape[1])
                changed = before != self.labels[tile_box.slices]
                local = _changed_box(changed)
                if local is None:
                    continue
                regions.append(self._region(_shift(local, y0, x0), before[local.slices],
                                            changed[local.slices], defer=True))
            if not regions:
                return None
            return self._commit(Step("stroke", regions))

    # -- whole operations ----------------------------------------------------------------
    def fill(self, point: Point, value: int) -> BBox | None:
        """Flood-fill the 4-connected region under ``point``."""
        with self.lock:
            box, region = tools.flood_region(self.labels, point)
            return self._operation("fill", box, lambda view: np.putmask(view, region,
                                                                         np.uint8(value)))

    def polygon(self, points: Sequence[Point], value: int) -> BBox | None:
        with self.lock:
            box = tools.polygon_bbox(self.shape, points)
            return self._operation("polygon", box,
                                   lambda _v: tools.fill_polygon(self.labels, points, value))

    def lasso_erase(self, points: Sequence[Point], erase_value: int = 0) -> BBox | None:
        with self.lock:
            box = tools.polygon_bbox(self.shape, points)
            return self._operation("lasso", box,
                                   lambda _v: tools.erase_lasso(self.labels, points, erase_value))

    def replace_class(self, a: int, b: int) -> BBox | None:
        with self.lock:
            box = tools.class_bbox(self.labels, a)
            return self._operation("replace", box,
                                   lambda _v: tools.replace_class(self.labels, a, b))

    def fix_region(self, point: Point, value: int, probs: np.ndarray) -> BBox | None:
        """Click to fix (see ``region_fix``): flip the wrong region under ``point``.

        The click corrects what is on screen: on an image with nothing labelled yet (all
        background, untouched), the suggestion is accepted first, in the same undo step.
        Otherwise a click on a wrong suggested blob would read as "this object was missed"
        and fill it. Labels loaded from disk are never replaced this way.
        """
        with self.lock:
            if (self.suggestion is not None and not self.provenance.any()
                    and not self.labels.any()):
                return self._accept_then_fix(point, value, probs)
            fix = region_fix.plan_fix(self.labels, self.provenance, probs, point, value)
            return self._operation("fix", fix.box, lambda view: view.__setitem__(
                fix.region, fix.values))

    def _accept_then_fix(self, point: Point, value: int, probs: np.ndarray) -> BBox | None:
        assert self.suggestion is not None
        if self._stroke is not None:
            self.end_stroke()
        # nothing is painted, so planning on the suggestion is planning after accepting it
        # (and a bad probability map is refused before anything changes)
        fix = region_fix.plan_fix(self.suggestion, self.provenance, probs, point, value)
        if fix.kind == "none":  # outside the image: accept nothing either
            return None
        before = self._take_suggestion()
        region_fix.apply_fix(self.labels, fix)
        self.provenance[fix.box.slices][fix.region] = Provenance.CORRECTED
        after = {"labels": Patch.encode(self.labels),
                 "provenance": Patch.encode(self.provenance)}
        return self._commit(Step("fix", [Region(BBox(0, 0, *self.shape), before, after)]))

    def refine_unpainted(self, mask: np.ndarray) -> BBox | None:
        """Take ``mask`` wherever the user has not painted, as one undo step.

        The re-prediction after "refine from my strokes": pixels with provenance
        CORRECTED or SCRATCH keep the user's label.
        """
        _check_layer("refined mask", mask, self.labels.shape)
        with self.lock:
            keep = self.provenance >= region_fix.PAINTED_MIN
            # the model's output, not the user's: it stays SUGGESTED so that a later refine
            # or click may change it again and only real strokes train the refinement
            return self._operation("refine", BBox(0, 0, *self.shape), lambda view: np.copyto(
                view, mask, where=~keep), provenance=Provenance.SUGGESTED)

    def _operation(self, label: str, box: BBox, apply: Callable[[np.ndarray], object],
                   provenance: int | None = None) -> BBox | None:
        """Run ``apply`` (which changes labels only inside ``box``) as one undo step."""
        if self._stroke is not None:
            self.end_stroke()
        if box.empty:
            return None
        view = self.labels[box.slices]
        before = view.copy()
        apply(view)
        changed = before != view
        local = _changed_box(changed)
        if local is None:
            return None
        region = self._region(_shift(local, box.y0, box.x0), before[local.slices],
                              changed[local.slices], provenance)
        return self._commit(Step(label, [region]))

    def _region(self, box: BBox, labels_before: np.ndarray, changed: np.ndarray,
                provenance: int | None = None, *, defer: bool = False) -> Region:
        """Update provenance where labels changed and encode the region's before/after
        (``defer``: keep copies, compressed later by ``compact_history``)."""
        prov = self.provenance[box.slices]
        prov_before = prov.copy()
        if provenance is not None:
            prov[changed] = provenance
        else:
            prov[changed & (prov == Provenance.SUGGESTED)] = Provenance.CORRECTED
            prov[changed & (prov == Provenance.NONE)] = Provenance.SCRATCH
        before = {"labels": labels_before}
        after = {"labels": self.labels[box.slices]}
        if not np.array_equal(prov_before, prov):
            before["provenance"] = prov_before
            after["provenance"] = prov
        return Region.from_arrays(box, before, after, defer=defer)

    # -- suggestion ----------------------------------------------------------------------
    def set_suggestion(self, suggestion: np.ndarray | None) -> None:
        """Show a new model suggestion (not an edit: labels are untouched).

        The array is shared, not copied: its owner must not modify it afterwards.
        """
        if suggestion is not None:
            _check_layer("suggestion", suggestion, self.labels.shape)
            suggestion = suggestion.view()
            suggestion.flags.writeable = False  # history may share it (accept_suggestion)
        self.suggestion = suggestion

    def accept_suggestion(self) -> BBox | None:
        """Copy the suggestion into labels as one undoable step; provenance becomes SUGGESTED."""
        with self.lock:
            if self.suggestion is None:
                return None
            before = self._take_suggestion()
            after = {"labels": Patch.reference(self.suggestion),
                     "provenance": Patch.constant(self.shape, Provenance.SUGGESTED)}
            return self._commit(Step("accept", [Region(BBox(0, 0, *self.shape), before, after)]))

    def _take_suggestion(self) -> dict[str, Patch]:
        """Copy the suggestion into labels (provenance SUGGESTED); the whole-image before
        patches for the caller's undo step."""
        assert self.suggestion is not None
        if self._stroke is not None:
            self.end_stroke()
        before = {"labels": Patch.encode(self.labels),
                  "provenance": Patch.encode(self.provenance)}
        self.labels[...] = self.suggestion
        self.provenance[...] = Provenance.SUGGESTED
        return before

    def provenance_counts(self) -> np.ndarray:
        """Pixel count per :class:`Provenance` value (index 0..3); a full-image pass."""
        return np.bincount(self.provenance.ravel(), minlength=4)[:4]

    def corrected_fraction(self) -> float:
        """Share of suggestion pixels the user changed.

        ``CORRECTED / (SUGGESTED + CORRECTED)`` pixel counts: of the pixels whose label came
        from an accepted suggestion, the fraction whose label any tool has since changed
        (painting back to the original class still counts as corrected). 0.0 when no
        suggestion was accepted.
        """
        counts = self.provenance_counts()
        suggested = int(counts[Provenance.SUGGESTED] + counts[Provenance.CORRECTED])
        return float(counts[Provenance.CORRECTED]) / suggested if suggested else 0.0

    # -- undo / redo / commit ------------------------------------------------------------
    def undo(self) -> BBox | None:
        """Undo the last step (ends an open stroke first); returns the restored bbox."""
        with self.lock:
            if self._stroke is not None:
                self.end_stroke()
            step = self.history.undo(self.layers)
            return None if step is None else self._changed(step.bbox)

    def redo(self) -> BBox | None:
        with self.lock:
            if self._stroke is not None:
                return None
            step = self.history.redo(self.layers)
            return None if step is None else self._changed(step.bbox)

    def compact_history(self, max_regions: int | None = None) -> bool:
        """Compress a slice of the undo history a stroke left uncompressed (see
        ``History.compact``); True while more remains. The GUI calls it when idle."""
        with self.lock:
            return self.history.compact(max_regions)

    def _commit(self, step: Step) -> BBox:
        self.history.push(step)
        return self._changed(step.bbox)

    def _changed(self, box: BBox) -> BBox:
        self.version += 1
        self.dirty = True
        if self._listeners:
            patch = self.labels[box.slices].copy()
            error: Exception | None = None
            for callback in list(self._listeners):
                try:
                    callback(box, patch)
                except Exception as exc:  # noqa: BLE001 - every listener must still run
                    error = error or exc
            if error is not None:
                raise error
        return box

    # -- saving support ------------------------------------------------------------------
    def snapshot(self) -> tuple[np.ndarray, int] | None:
        """A copy of labels and its version, or None while a stroke is open."""
        with self.lock:
            if self._stroke is not None:
                return None
            return self.labels.copy(), self.version

    def mark_saved(self, version: int) -> None:
        """Clear ``dirty`` if nothing changed since the snapshot of ``version``."""
        with self.lock:
            if self.version == version:
                self.dirty = False
