"""labelme JSON: one ``<stem>.json`` per image with ``shapes`` painted in file order.

Shape types: polygon (>= 3 points), rectangle (2 corners), circle (centre + rim point),
mask (a base64 PNG placed at its top-left point, labelme 5.3+). Lines and points carry no
area and are left out (reported). ``imageHeight``/``imageWidth`` must match the project's
image. The JSON's own stem is matched first, then the stem of ``imagePath``.
"""
from __future__ import annotations

import base64
import binascii
import struct
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .base import LabelFile, LabelImportError, Reader, Scan
from .classes import ClassMap
from .files import list_files, manifest_of, manifest_stems, read_json, stem_from_reference, stem_of
from .registry import register
from .shapes import as_points, fill_circle, fill_ring

MAX_LABELME_BYTES = 512 << 20


def _shapes(doc: Any, path: Path) -> list[dict]:
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
        raise LabelImportError(f"{path.name} is not a labelme file (no 'shapes' list)")
    return [s for s in doc["shapes"] if isinstance(s, dict)]


def _label(shape: dict) -> str | None:
    label = shape.get("label")
    return label if isinstance(label, str) and label.strip() else None


def decode_mask_png(text: Any, max_size: tuple[int, int]) -> np.ndarray:
    """Boolean array from labelme's base64 PNG, its header size checked before decoding."""
    try:
        data = base64.b64decode(text, validate=False) if isinstance(text, str) else b""
    except (binascii.Error, ValueError):
        data = b""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n":
        raise LabelImportError("a mask shape holds no PNG")
    w, h = struct.unpack(">II", data[16:24])
    if not (0 < h <= max_size[0] and 0 < w <= max_size[1]):
        raise LabelImportError(f"a mask shape is {w}x{h}, larger than the image")
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if arr is None:
        raise LabelImportError("a mask shape's PNG is corrupt")
    return arr > 0


def _paint_mask(mask: np.ndarray, shape: dict, pts: np.ndarray, value: int) -> None:
    part = decode_mask_png(shape.get("mask"), mask.shape)
    x0, y0 = (int(v) for v in pts[0])
    h, w = mask.shape
    ys, xs = slice(max(y0, 0), min(y0 + part.shape[0], h)), slice(max(x0, 0), min(x0 + part.shape[1], w))
    if ys.start < ys.stop and xs.start < xs.stop:
        sub = part[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
        mask[ys, xs][sub] = value


def paint_shape(mask: np.ndarray, shape: dict, value: int) -> bool:
    """Paint one labelme shape; False when it has no area (line, point, < 3 points)."""
    kind = shape.get("shape_type") or "polygon"
    pts = as_points(shape.get("points", []), mask.shape)
    if kind == "polygon":
        return fill_ring(mask, pts, value)
    if kind == "rectangle" and len(pts) >= 2:
        (x0, y0), (x1, y1) = pts[0], pts[-1] if len(pts) == 2 else pts[2]
        return fill_ring(mask, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), value)
    if kind == "circle" and len(pts) == 2:
        fill_circle(mask, pts[0], pts[1], value)
        return True
    if kind == "mask" and len(pts) >= 1:
        _paint_mask(mask, shape, pts, value)
        return True
    return False


@register
class LabelmeReader(Reader):
    name = "labelme"
    description = "labelme JSON per image (polygon, rectangle, circle and mask shapes)"

    def scan(self) -> Scan:
        root = self.source
        paths, warnings = ([root], []) if root.is_file() else list_files(root, (".json",))
        base = root.parent if root.is_file() else root
        back = manifest_stems(manifest_of(base))
        files = []
        for path in paths:
            if path.name in ("manifest.json", "dataset.json"):
                continue
            try:
                doc = read_json(path, MAX_LABELME_BYTES)
                _shapes(doc, path)
            except LabelImportError as exc:
                warnings.append(f"{path.relative_to(base)}: {exc}, skipped")
                continue
            found = [stem_of(path.name), stem_from_reference(doc.get("imagePath"))]
            stems = [back.get(s, s) for s in found if s]
            files.append(LabelFile(stems[0], str(path.relative_to(base)), path, tuple(stems[1:])))
        if not files:
            raise LabelImportError(f"no labelme JSON files found in {root}")
        return Scan(files, {}, warnings)

    def render(self, item: LabelFile, size: tuple[int, int],
               classes: ClassMap) -> tuple[np.ndarray, list[str]]:
        path = item.payload
        doc = read_json(path, MAX_LABELME_BYTES)
        h, w = doc.get("imageHeight"), doc.get("imageWidth")
        if (isinstance(h, int) and h != size[0]) or (isinstance(w, int) and w != size[1]):
            raise LabelImportError(f"labelme says the image is {w}x{h}, it is {size[1]}x{size[0]}")
        mask = np.full(size, classes.fill, np.uint8)
        left_out: dict[str, int] = {}
        for shape in _shapes(doc, path):
            label = _label(shape)
            if label is None or not paint_shape(mask, shape, classes.id_of(label)):
                kind = str(shape.get("shape_type") or "polygon")[:20]
                left_out[kind] = left_out.get(kind, 0) + 1
        notes = [f"{n} {kind} shape(s) without an area or a label left out"
                 for kind, n in sorted(left_out.items())]
        return mask, notes
