"""Effort model: how many strokes and clicks a person needs to bring a mask to the truth.

The simulated user starts from a mask (the suggestion, or an empty one), and repeats:
find the largest connected region of wrong pixels (per class the pixel should be,
8-connected, ignore 255 excluded), and fix it with the one action that fixes most of it
among the tools it is allowed:

- ``stroke``: one brush stroke along the region's medial axis at a radius fitted to its
  width. Approximation (no skeletonisation library): the medial axis is the ridge of the
  distance transform (pixels that are a 3x3 local maximum of it), the radius is the median
  distance on that ridge minus one (the brush paints ``2r + 1`` px: the typical width), and the stroke is one pen-down chain
  through ridge points, each next point the nearest unvisited one within two brush widths;
  the pen lifts (the action ends) at the first larger gap.
  A second stroke is offered that *traces*: it runs along the pixels where painting the
  region's class is harmless (the truth is that class) within ``trace_reach_px`` of the
  region's wrong pixels, so slivers along one edge (a membrane drawn a pixel too thin, a
  boundary a little off) are fixed by one stroke along the edge, as a person tracing it
  would, not by one stroke per sliver.
- ``fill``: the flood-fill tool clicked inside the region (fills a hole).
- ``click``: click to fix (``annotation.region_fix``), with the probability map.
- ``refine``: "refine this image from my strokes" (``engine.refine`` through the model
  service), tried after every ``refine_every`` other actions once something is painted;
  counted (and applied, via ``MaskDocument.refine_unpainted``) only when it helps. After
  ``refine_give_up`` tries in a row that did not help, the user stops trying on that image.

The user may decline the suggestion: where painting from an empty mask (the ``scratch``
reference) costs less than repairing the suggestion, ``effort`` and ``brush`` also run from
an empty mask with their own tools and keep whichever costs less (``EffortResult.start``
says which), as a person does who glances at a poor suggestion and paints instead.

Every action runs through ``MaskDocument`` (the code the GUI calls), until each foreground
class reaches ``target_dice`` or ``max_actions`` is reached. The user is an oracle in one
respect: it knows which tool fixes most before using it (a person learns this quickly).

Seconds per action (documented estimates after the keystroke-level model: 1.35 s to
decide, 1.1 s to point, 0.2 s to click): a click or fill costs ``click_s`` = 2.65 s; a
stroke costs ``stroke_s`` = 2.65 s plus its length at ``stroke_px_per_s`` = 300 image px/s.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import cv2
import numpy as np

from resunet_gui.annotation import region_fix, tools
from resunet_gui.annotation.document import MaskDocument
from resunet_gui.core.types import IGNORE_INDEX

ACTIONS = ("stroke", "fill", "click", "refine")
RefineFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (labels, painted) -> mask


@dataclass
class EffortConfig:
    target_dice: float = 0.90
    max_actions: int = 100
    click_s: float = 2.65
    stroke_s: float = 2.65
    stroke_px_per_s: float = 300.0
    max_radius: int = 48
    max_chain_points: int = 400
    refine_every: int = 5
    refine_give_up: int = 2
    trace_reach_px: int = 4


@dataclass
class EffortResult:
    actions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    pixels: int = 0  # pixels whose label the actions changed
    seconds: float = 0.0
    dice: list[float] = field(default_factory=list)  # worst foreground Dice before/after each
    reached: bool = False
    start: str = "suggestion"  # or "empty": the user declined the suggestion

    @property
    def total(self) -> int:
        return sum(self.actions.values())

    def effective(self, cap: int) -> int:
        """Actions to reach the target; ``cap`` when the user never got there."""
        return self.total if self.reached else max(cap, self.total)


def class_dice(labels: np.ndarray, truth: np.ndarray, num_classes: int) -> list[float]:
    """Dice per foreground class (1.0 where the class is absent from both)."""
    valid = truth != IGNORE_INDEX
    out = []
    for c in range(1, num_classes):
        a, b = (labels == c) & valid, truth == c
        denom = int(a.sum()) + int(b.sum())
        out.append(1.0 if denom == 0 else 2.0 * int((a & b).sum()) / denom)
    return out


def error_regions(labels: np.ndarray, truth: np.ndarray, num_classes: int, n: int = 8
                  ) -> list[tuple[np.ndarray, int]]:
    """The ``n`` largest wrong regions, largest first: (bool mask, the class it should be)."""
    found: list[tuple[int, int, np.ndarray, int]] = []
    for c in range(num_classes):
        wrong = ((truth == c) & (labels != c)).astype(np.uint8)
        if not wrong.any():
            continue
        _n, cc, stats, _ = cv2.connectedComponentsWithStats(wrong, connectivity=8)
        for i in 1 + np.argsort(-stats[1:, cv2.CC_STAT_AREA])[:n]:
            found.append((int(stats[i, cv2.CC_STAT_AREA]), c, cc, int(i)))
    found.sort(key=lambda f: -f[0])
    return [(cc == i, c) for _a, c, cc, i in found[:n]]


def _distance(region: np.ndarray) -> np.ndarray:
    """Distance to the nearest pixel outside ``region``, the image edge counting as outside
    (OpenCV alone gives a region with no outside pixel an infinite distance)."""
    padded = np.pad(region.astype(np.uint8), 1)
    return cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1]


def _ridge(region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance transform and its local-maximum ridge (the approximate medial axis)."""
    dt = _distance(region)
    ridge = region & (dt >= cv2.dilate(dt, np.ones((3, 3), np.uint8))) & (dt > 0)
    return dt, ridge


def stroke_path(region: np.ndarray, max_radius: int = 48, max_points: int = 400,
                radius: int | None = None) -> tuple[list[tuple[float, float]], int]:
    """One pen-down path of (x, y) points along the region's medial axis, and its radius
    (fitted to the region's width unless given).

    Ridge points (one per brush width) are joined when at most three brush widths apart;
    the stroke is the longest path through that graph from its most interior point's
    side (two breadth-first searches, the tree-diameter heuristic), at most
    ``max_points`` long: the one long stroke a hand would draw along the region.
    """
    rows, cols = np.nonzero(region.any(axis=1))[0], np.nonzero(region.any(axis=0))[0]
    y0, x0 = int(rows[0]), int(cols[0])
    region = region[y0:int(rows[-1]) + 1, x0:int(cols[-1]) + 1]  # work on the bbox only
    dt, ridge = _ridge(region)
    ys, xs = np.nonzero(ridge)
    if xs.size == 0:
        ys, xs = np.nonzero(region)
    # a ridge pixel at distance d is the middle of a band about 2d - 1 px wide, and a brush
    # of radius r paints 2r + 1 px: r = d - 1 fills the band without spilling over it
    if radius is None:
        radius = int(np.clip(round(float(np.median(dt[ys, xs]))) - 1, 0, max_radius))
    cell = max(2, 2 * radius + 1)  # one ridge point per brush width
    keys = np.stack([ys // cell, xs // cell], 1)
    _u, keep = np.unique(keys, axis=0, return_index=True)
    cells = {(int(keys[i, 0]), int(keys[i, 1])): n for n, i in enumerate(keep)}
    pts = [(float(xs[i] + x0), float(ys[i] + y0)) for i in keep]
    seed = int(np.argmax(dt[ys[keep], xs[keep]]))
    far, _ = _bfs(seed, cells, pts, 3 * cell)
    end, parent = _bfs(far, cells, pts, 3 * cell)
    path = [end]
    while path[-1] != far and len(path) < max_points:
        path.append(parent[path[-1]])
    return [pts[i] for i in path], radius


def _bfs(start: int, cells: dict[tuple[int, int], int], pts: list[tuple[float, float]],
         gap: float) -> tuple[int, dict[int, int]]:
    """Breadth-first search over ridge points: (the last point reached, parent links)."""
    key_of = {n: k for k, n in cells.items()}
    parent, queue, last = {start: start}, [start], start
    while queue:
        nxt = []
        for i in queue:
            cy, cx = key_of[i]
            for dy in (-3, -2, -1, 0, 1, 2, 3):
                for dx in (-3, -2, -1, 0, 1, 2, 3):
                    j = cells.get((cy + dy, cx + dx))
                    if j is None or j in parent or math.dist(pts[i], pts[j]) > gap:
                        continue
                    parent[j] = i
                    nxt.append(j)
                    last = j
        queue = nxt
    return last, parent


def _interior_point(region: np.ndarray) -> tuple[float, float]:
    dt = _distance(region)
    y, x = np.unravel_index(int(np.argmax(dt)), dt.shape)
    return float(x), float(y)


def _gain(before: np.ndarray, after: np.ndarray, truth: np.ndarray) -> int:
    """Wrong pixels fixed minus right pixels broken (ignore excluded)."""
    valid = truth != IGNORE_INDEX
    return int(((after == truth) & valid).sum()) - int(((before == truth) & valid).sum())


class EffortSimulator:
    """Runs the effort model for one image with a given tool set."""

    def __init__(self, truth: np.ndarray, num_classes: int, tools_allowed: tuple[str, ...],
                 probs: np.ndarray | None = None, config: EffortConfig | None = None,
                 refine: RefineFn | None = None) -> None:
        self.refine = refine if "refine" in tools_allowed else None
        self.truth = truth
        self.k = num_classes
        self.allowed = tools_allowed
        self.probs = probs
        self.cfg = config or EffortConfig()

    def document(self, start: np.ndarray | None) -> MaskDocument:
        """The document the user starts from: the accepted suggestion, or an empty mask."""
        doc = MaskDocument(np.zeros(self.truth.shape, np.uint8))
        if start is not None:
            doc.set_suggestion(start.astype(np.uint8, copy=False))
            doc.accept_suggestion()
        return doc

    def run(self, start: np.ndarray | None) -> EffortResult:
        return self.run_on(self.document(start))

    def run_on(self, doc: MaskDocument) -> EffortResult:
        """Correct ``doc`` in place until the target or the action cap."""
        res = EffortResult()
        res.dice.append(round(min(class_dice(doc.labels, self.truth, self.k), default=1.0), 4))
        tried, misses = 0, 0  # actions done when refine was last tried; tries that failed
        while res.dice[-1] < self.cfg.target_dice and res.total < self.cfg.max_actions:
            if (self.refine is not None and misses < self.cfg.refine_give_up
                    and res.total - tried >= self.cfg.refine_every):
                tried = res.total
                if self._refine(doc, res):
                    misses = 0
                    res.dice.append(round(min(class_dice(doc.labels, self.truth, self.k)), 4))
                    continue
                misses += 1 if (doc.provenance >= region_fix.PAINTED_MIN).any() else 0
            # the largest region first; one no tool can improve is left for the next one
            if not any(self._act(doc, region, value, res)
                       for region, value in error_regions(doc.labels, self.truth, self.k)):
                break
            res.dice.append(round(min(class_dice(doc.labels, self.truth, self.k)), 4))
        res.reached = res.dice[-1] >= self.cfg.target_dice
        res.seconds = round(res.seconds, 1)
        return res

    def _refine(self, doc: MaskDocument, res: EffortResult) -> bool:
        """Press "refine"; keep it (one action) only if it fixes more than it breaks."""
        painted = doc.provenance >= region_fix.PAINTED_MIN
        if self.refine is None or not painted.any():
            return False
        mask = self.refine(doc.labels.copy(), painted)
        if _gain(doc.labels, np.where(painted, doc.labels, mask), self.truth) <= 0:
            return False
        before = doc.labels.copy()
        doc.refine_unpainted(mask)
        res.pixels += int((before != doc.labels).sum())
        res.actions["refine"] += 1
        res.seconds += self.cfg.click_s
        return True

    def _candidates(self, doc: MaskDocument, region: np.ndarray, value: int) -> list:
        """(gain, kind, apply, seconds) for each allowed action on ``region``."""
        labels = doc.labels
        out = []
        pt = _interior_point(region)
        probs = self.probs
        if "click" in self.allowed and probs is not None:
            here = int(labels[int(pt[1]), int(pt[0])])
            for v in {value, here} - {IGNORE_INDEX}:
                if v >= probs.shape[0]:
                    continue
                fix = region_fix.plan_fix(labels, doc.provenance, probs, pt, v)
                if fix.kind != "none":
                    sl = fix.box.slices
                    after = labels[sl].copy()
                    after[fix.region] = fix.values
                    out.append((_gain(labels[sl], after, self.truth[sl]), "click",
                                partial(doc.fix_region, pt, v, probs), self.cfg.click_s))
        if "fill" in self.allowed:
            box, reg = tools.flood_region(labels, pt)
            after = labels[box.slices].copy()
            after[reg] = value
            out.append((_gain(labels[box.slices], after, self.truth[box.slices]), "fill",
                        partial(doc.fill, pt, value), self.cfg.click_s))
        out.extend(self._stroke_candidates(doc, region, value))
        return out

    def _traced_region(self, labels: np.ndarray, region: np.ndarray, value: int
                       ) -> np.ndarray | None:
        """The band along ``region`` where painting ``value`` breaks nothing, reaching the
        wrong pixels within ``trace_reach_px`` of it; None when that adds nothing."""
        reach = self.cfg.trace_reach_px
        if reach <= 0:
            return None
        harmless = (self.truth == value) | (self.truth == IGNORE_INDEX)
        wrong = ((self.truth == value) & (labels != value)).astype(np.uint8)
        near = cv2.dilate(wrong, cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))).astype(bool) & harmless
        _n, cc = cv2.connectedComponents(near.astype(np.uint8), connectivity=8)
        ids = np.unique(cc[region])
        traced = np.isin(cc, ids[ids > 0])
        return traced if int(traced.sum()) > int(region.sum()) else None

    def _stroke_candidates(self, doc: MaskDocument, region: np.ndarray, value: int) -> list:
        out = [self._stroke_candidate(doc, region, value)]
        traced = self._traced_region(doc.labels, region, value)
        if traced is None:
            return out
        # along the middle of the band, at its width and a size smaller (spills less) ...
        path, radius = stroke_path(traced, self.cfg.max_radius, self.cfg.max_chain_points)
        out.extend(self._paint_candidate(doc, path, r, value)
                   for r in range(radius, max(radius - 2, -1), -1))
        # ... or along the wrong pixels themselves, at their width
        wrong = traced & (self.truth == value) & (doc.labels != value)
        if int(wrong.sum()) > int(region.sum()):
            out.append(self._stroke_candidate(doc, wrong, value))
        return out
        return out

    def _stroke_candidate(self, doc: MaskDocument, region: np.ndarray, value: int):
        """The stroke along ``region`` at its fitted brush size, or at half that size where
        the wide brush spills over a region that is not convex (a person shrinks the brush)."""
        path, radius = stroke_path(region, self.cfg.max_radius, self.cfg.max_chain_points)
        best = self._paint_candidate(doc, path, radius, value)
        if radius >= 4:
            path, half = stroke_path(region, self.cfg.max_radius, self.cfg.max_chain_points,
                                     radius // 2)
            best = max(best, self._paint_candidate(doc, path, half, value), key=lambda c: c[0])
        return best

    def _paint_candidate(self, doc: MaskDocument, path: list[tuple[float, float]],
                         radius: int, value: int):
        trial = doc.labels.copy()
        for p0, p1 in zip(path, path[1:] or path, strict=False):
            tools.paint_segment(trial, p0, p1, radius, value)
        length = sum(math.dist(a, b) for a, b in zip(path, path[1:], strict=False))

        def paint() -> None:
            doc.begin_stroke()
            for p0, p1 in zip(path, path[1:] or path, strict=False):
                doc.paint(p0, p1, radius, value)
            doc.end_stroke()

        seconds = self.cfg.stroke_s + length / self.cfg.stroke_px_per_s
        return _gain(doc.labels, trial, self.truth), "stroke", paint, seconds

    def _act(self, doc: MaskDocument, region: np.ndarray, value: int, res: EffortResult
             ) -> bool:
        """Apply the best action; False when no allowed action makes the mask better."""
        cands = self._candidates(doc, region, value)
        # a click is cheaper than a stroke: prefer it unless the stroke fixes much more
        best = max(cands, key=lambda c: c[0] * (1.25 if c[1] != "stroke" else 1.0))
        gain, kind, apply, seconds = best
        if gain <= 0:
            return False
        before = doc.labels.copy()
        apply()
        res.pixels += int((before != doc.labels).sum())
        res.actions[kind] += 1
        res.seconds += seconds
        return True


TOOLSETS: dict[str, tuple[str, ...]] = {
    "effort": ("stroke", "fill", "click", "refine"),  # the suggestion, every tool the app has
    "brush": ("stroke",),  # the same suggestion, region tools disabled
    "scratch": ("stroke", "fill"),  # an empty mask: no model, so no click to fix
}


def effort_for_image(suggestion: np.ndarray, probs: np.ndarray | None, truth: np.ndarray,
                     num_classes: int, config: EffortConfig | None = None,
                     refine: RefineFn | None = None) -> dict[str, EffortResult]:
    """The three references of the issue on one image: effort, brush only, from scratch."""
    def simulator(name: str) -> EffortSimulator:
        return EffortSimulator(truth, num_classes, TOOLSETS[name], probs, config, refine)

    out = {"scratch": simulator("scratch").run(None)}
    for name in ("effort", "brush"):
        out[name] = simulator(name).run(suggestion)
        if _cost(out["scratch"]) < _cost(out[name]):  # painting looks cheaper: try it
            painted = simulator(name).run(None)
            painted.start = "empty"
            out[name] = min((out[name], painted), key=_cost)
    return {name: out[name] for name in TOOLSETS}


def _cost(result: EffortResult) -> tuple[bool, int, float, float]:
    """What a person weighs: reaching the target at all, then actions, then how close the
    mask got (when neither reached it), then seconds."""
    return (not result.reached, result.total, -result.dice[-1], result.seconds)
