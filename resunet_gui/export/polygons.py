"""Mask <-> polygon conversion shared by the COCO, YOLO and labelme writers.

Polygon formats cannot carry holes, yet EM membranes are meshes of holes. Each 8-connected
component therefore becomes ONE ring in which every hole is spliced in through a zero-width
vertical "keyhole" bridge; even-odd filling (cv2.fillPoly, pycocotools) then leaves the
holes empty again. Two coordinate conventions exist in the ecosystem:

* ``"center"`` (YOLO/ultralytics, labelme, cv2.fillPoly): vertex ``(x, y)`` is the centre
  of pixel ``(x, y)``; rings run through the outermost pixels of the region.
* ``"corner"`` (COCO, pycocotools): pixel ``(x, y)`` covers ``[x, x+1) x [y, y+1)``; rings
  follow the pixel edges, so a decoded polygon covers exactly the pixels it came from.
"""
from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

Convention = Literal["center", "corner"]


def _rings_of(binary: np.ndarray) -> list[list[np.ndarray]]:
    """Outer contour + hole contours (Nx2 int, x/y) per 8-connected component."""
    contours, hierarchy = cv2.findContours(
        binary.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE
    )
    if hierarchy is None:
        return []
    hier = hierarchy[0]
    groups: list[list[np.ndarray]] = []
    for i, cnt in enumerate(contours):
        if hier[i][3] != -1:
            continue  # a hole; collected with its parent below
        rings = [cnt.reshape(-1, 2)]
        child = hier[i][2]
        while child != -1:
            rings.append(contours[child].reshape(-1, 2))
            child = hier[child][0]
        groups.append(rings)
    return groups


def _splice_holes(rings: list[np.ndarray]) -> list[np.ndarray]:
    """Join holes to the outer ring by vertical bridges running over region pixels.

    Holes are taken top-down; from its topmost vertex each hole walks upward until it meets
    a vertex of a ring taken earlier (the outer ring or a hole above), so every bridge stays
    on foreground pixels and the result is a tree of rings walked depth first.
    """
    if len(rings) == 1:
        return [rings[0]]
    x0, y0 = rings[0].min(axis=0)
    x1, y1 = rings[0].max(axis=0)
    local = [r - (x0, y0) for r in rings]

    def top_left(r: int) -> tuple[int, int]:
        k = int(np.lexsort((local[r][:, 0], local[r][:, 1]))[0])
        return int(local[r][k, 1]), int(local[r][k, 0])

    order = [0] + sorted(range(1, len(rings)), key=top_left)
    shape = (int(y1 - y0) + 1, int(x1 - x0) + 1)
    owner = np.full(shape, -1, np.int32)  # first ring (in processing order) owning a pixel
    index = np.zeros(shape, np.int32)     # that ring's vertex index at the pixel
    for r in order:
        xs, ys = local[r][:, 0], local[r][:, 1]
        free = owner[ys, xs] == -1
        # the last occurrence wins inside one ring; any occurrence is a valid splice point
        owner[ys[free], xs[free]] = r
        index[ys[free], xs[free]] = np.nonzero(free)[0]
    children: dict[int, list[tuple[int, int, int]]] = {}  # parent -> (parent_idx, child, child_idx)
    for r in order[1:]:
        pts = local[r]
        k = int(np.lexsort((pts[:, 0], pts[:, 1]))[0])  # topmost, then leftmost vertex
        x, y = int(pts[k, 0]), int(pts[k, 1])
        col = owner[: y + 1, x][::-1]  # from (x, y) upward
        hit = np.nonzero((col != -1) & (col != r))[0]
        if hit.size:
            py = y - int(hit[0])
            parent, pidx = int(owner[py, x]), int(index[py, x])
        else:  # not expected for OpenCV contours; fall back to the nearest outer vertex
            parent = 0
            pidx = int(np.argmin(((local[0] - pts[k]) ** 2).sum(1)))
        children.setdefault(parent, []).append((pidx, r, k))
    return _walk(rings, children)


def _walk(rings: list[np.ndarray], children: dict[int, list[tuple[int, int, int]]]) -> list[np.ndarray]:
    """Emit the ring tree depth first: at each attachment vertex, go round the hole and back.

    Returns the pieces between bridges (each bridge joins the end of one piece to the start of
    the next), so simplification can keep the bridges exact. Iterative (an explicit stack),
    since hole chains can be deeper than Python's recursion limit.
    """
    def frame(r: int, start: int) -> list:
        n = len(rings[r])
        pts = np.roll(rings[r], -start, axis=0)
        pts = np.concatenate([pts, pts[:1]])  # closed, starting at ``start``
        att = sorted(((p - start) % n, c, ci) for p, c, ci in children.get(r, []))
        return [pts, att, 0, 0]  # points, attachments, next attachment, next point

    out: list[np.ndarray] = []
    stack = [frame(0, 0)]
    while stack:
        fr = stack[-1]
        pts, att, ai, prev = fr
        if ai < len(att):
            pos, child, cidx = att[ai]
            out.append(pts[prev:pos + 1])
            fr[2], fr[3] = ai + 1, pos  # after the hole, come back to vertex ``pos``
            stack.append(frame(child, cidx))
        else:
            out.append(pts[prev:])
            stack.pop()
    return out


def _simplify(ring: np.ndarray) -> np.ndarray:
    """Drop vertices in the middle of straight runs (exact: no area change)."""
    if len(ring) < 4:
        return ring
    prev = np.roll(ring, 1, axis=0)
    nxt = np.roll(ring, -1, axis=0)
    d1 = ring - prev
    d2 = nxt - ring
    cross = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    dot = (d1 * d2).sum(1)
    keep = ~((cross == 0) & (dot > 0))
    keep[0] = True
    return ring[keep]


def _join(pieces: list[np.ndarray], epsilon: float) -> np.ndarray:
    """One ring from spliced pieces; with ``epsilon`` > 0 each piece is simplified with
    Douglas-Peucker keeping its end points, so the zero-width hole bridges stay exact."""
    if epsilon <= 0:
        return _simplify(np.concatenate(pieces))
    if len(pieces) == 1:
        return simplify_ring(_simplify(pieces[0]), epsilon)
    return np.concatenate([_simplify_open(p, epsilon) for p in pieces]).astype(np.float64)


def _simplify_open(piece: np.ndarray, epsilon: float) -> np.ndarray:
    """Douglas-Peucker on an open polyline, end points kept. It is split at the vertex
    farthest from its start first: a piece that comes back to its start (a hole walked round
    from its bridge) has no chord for Douglas-Peucker to measure against."""
    if len(piece) < 3:
        return piece
    k = int(np.argmax(((piece - piece[0]) ** 2).sum(1)))
    halves = [piece[: k + 1], piece[k:]]
    out = [cv2.approxPolyDP(np.asarray(h, np.float32).reshape(-1, 1, 2), float(epsilon), False)
           .reshape(-1, 2) for h in halves if len(h) >= 2]
    return np.concatenate([out[0], *[o[1:] for o in out[1:]]])


def component_pieces(binary: np.ndarray, convention: Convention = "center") -> list[list[np.ndarray]]:
    """Per 8-connected component, the spliced ring as pieces between bridges (see _join)."""
    grid, scale = _grid(binary, convention)
    return [[p.astype(np.float64) * scale for p in _splice_holes(rings)] for rings in _rings_of(grid)]


def _grid(binary: np.ndarray, convention: Convention) -> tuple[np.ndarray, float]:
    binary = np.asarray(binary).astype(bool)
    if convention != "corner":
        return binary.astype(np.uint8), 1.0
    # each pixel becomes a 3x3 block on a half-pixel lattice; lattice index k is
    # corner coordinate k / 2, so contours through lattice pixels follow pixel edges
    h, w = binary.shape
    up = np.zeros((2 * h + 1, 2 * w + 1), np.uint8)
    big = np.repeat(np.repeat(binary, 2, axis=0), 2, axis=1).astype(np.uint8)
    up[: 2 * h, : 2 * w] |= big
    up[1:, 1:] |= big
    up[1:, : 2 * w] |= big
    up[: 2 * h, 1:] |= big
    return up, 0.5


def mask_to_polygons(binary: np.ndarray, convention: Convention = "center",
                     epsilon: float = 0.0) -> list[np.ndarray]:
    """One float64 Nx2 (x, y) ring per 8-connected component of ``binary``, holes spliced in;
    exact for ``epsilon`` 0, else simplified within ``epsilon`` pixels."""
    return [_join(pieces, epsilon) for pieces in component_pieces(binary, convention)]


def polygons_to_mask(polys: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Rasterise centre-convention rings with cv2.fillPoly (one call per ring: even-odd inside)."""
    out = np.zeros(shape, np.uint8)
    for ring in polys:
        layer = np.zeros(shape, np.uint8)
        cv2.fillPoly(layer, [np.round(np.asarray(ring)).astype(np.int32).reshape(-1, 1, 2)], 1)
        out |= layer
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1.0 when both are empty)."""
    a = np.asarray(a, bool)
    b = np.asarray(b, bool)
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


def ring_area(ring: np.ndarray) -> float:
    """Absolute shoelace area of a closed ring (px^2); zero for fewer than 3 points."""
    if len(ring) < 3:
        return 0.0
    x, y = np.asarray(ring, np.float64).T
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2.0


def simplify_ring(ring: np.ndarray, epsilon: float) -> np.ndarray:
    """Douglas-Peucker simplification of a closed ring: no vertex moves the outline by more
    than ``epsilon`` pixels (cv2.approxPolyDP); ``epsilon <= 0`` keeps it as it is."""
    if epsilon <= 0 or len(ring) < 4:
        return ring
    pts = np.asarray(ring, np.float32).reshape(-1, 1, 2)
    return cv2.approxPolyDP(pts, float(epsilon), True).reshape(-1, 2).astype(np.float64)


MAX_EPSILON = 2.0  # px; a line still over the point cap here is kept (and counted)


def capped_pieces(pieces: list[np.ndarray], epsilon: float, max_points: int) -> tuple[np.ndarray, float]:
    """Join with ``epsilon``, doubling it (up to MAX_EPSILON) until the ring has at most
    ``max_points`` points. Returns the ring and the epsilon used (the stated tolerance)."""
    eps = epsilon
    out = _join(pieces, eps)
    while len(out) > max_points and eps < MAX_EPSILON:
        eps = min(MAX_EPSILON, max(eps * 2.0, 0.5))
        out = _join(pieces, eps)
    return out, eps


def component_masks(binary: np.ndarray) -> list[tuple[np.ndarray, int, int, bool]]:
    """Each 8-connected component as (bbox crop, x, y, has_holes), in OpenCV's contour order."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary.astype(np.uint8), connectivity=8)
    out = []
    for k in range(1, n):
        x, y, w, h = (int(v) for v in stats[k, :4])
        crop = labels[y:y + h, x:x + w] == k
        _, hier = cv2.findContours(crop.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        holes = hier is not None and bool((hier[0][:, 3] != -1).any())
        out.append((crop, x, y, holes))
    return out
