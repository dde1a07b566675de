"""labelme: ``<split>/<name>.<ext>`` beside ``<split>/<name>.json`` (labelme 5.x JSON).

One shape per 8-connected component per class. A component without holes becomes a
``polygon`` of pixel-centre points (labelme rasterises that way), simplified with
Douglas-Peucker (``options.simplify_px``). A component with holes, or one whose polygon
would have fewer than 3 points or an area under ``options.min_area_px2`` (labelme's
``shapes_to_label`` refuses those), becomes labelme's own ``mask`` shape: the inclusive
bbox corners and a base64 PNG of the crop, pixel exact. A class 0 named "background" is not
drawn; 255 becomes shapes labelled ``__ignore__``. ``labels.txt`` starts with
``__ignore__`` and ``_background_`` as labelme2voc requires (they become -1 and 0).
"""
from __future__ import annotations

import base64

import cv2
import numpy as np

from resunet_gui.core.errors import ExportError

from .base import ExportItem, Writer, background_id
from .polygons import component_masks, mask_to_polygons, ring_area
from .registry import register

LABELME_VERSION = "5.5.0"
IGNORE_LABEL = "__ignore__"
BACKGROUND_LABEL = "_background_"


def _mask_shape(label: str, crop: np.ndarray, x: int, y: int) -> dict:
    ok, png = cv2.imencode(".png", crop.astype(np.uint8) * 255)
    if not ok:
        raise ExportError(f"cannot encode a {crop.shape} mask shape as PNG")
    h, w = crop.shape
    return {"label": label, "points": [[float(x), float(y)], [float(x + w - 1), float(y + h - 1)]],
            "group_id": None, "description": "", "shape_type": "mask", "flags": {},
            "mask": base64.b64encode(png.tobytes()).decode("ascii")}


def _polygon_shape(label: str, ring: np.ndarray) -> dict:
    return {"label": label, "points": ring.tolist(), "group_id": None, "description": "",
            "shape_type": "polygon", "flags": {}, "mask": None}


@register
class LabelmeWriter(Writer):
    name = "labelme"
    description = "labelme JSON (polygons, mask shapes where holes or specks) beside each image"
    ignore_note = "255 regions are shapes labelled __ignore__ (labelme2voc convention)"

    def begin(self) -> None:
        self.bg = background_id(self.classes)
        self.labels = [(c.id, c.name) for c in self.classes if c.id not in (self.bg, self.ignore_index)]
        self.labels.append((self.ignore_index, IGNORE_LABEL))
        values = {str(c.id): v for v, c in enumerate(self._voc_order(), start=1)}
        if self.bg is not None:
            values[str(self.bg)] = 0
        self.info.update({
            "simplify_epsilon_px": self.options.simplify_px, "min_area_px2": self.options.min_area_px2,
            "convention": "pixel centre", "polygons": 0, "mask_shapes": 0,
            "labelme2voc_values": values})

    def _voc_order(self) -> list:
        return [c for c in self.classes if c.id not in (self.bg, self.ignore_index)]

    def _shapes(self, label: str, binary: np.ndarray) -> list[dict]:
        shapes = []
        for crop, x, y, holes in component_masks(binary):
            if not holes:
                rings = mask_to_polygons(crop, "center", self.options.simplify_px)
                ring = rings[0] + (x, y) if rings else None
                if ring is not None and len(ring) >= 3 and ring_area(ring) >= self.options.min_area_px2:
                    self.info["polygons"] += 1
                    shapes.append(_polygon_shape(label, ring))
                    continue
            self.info["mask_shapes"] += 1
            shapes.append(_mask_shape(label, crop, x, y))
        return shapes

    def write(self, item: ExportItem) -> None:
        suffix = item.image_path.suffix.lower() or ".png"
        image_name = f"{item.name}{suffix}"
        self.put_copy(f"{item.split}/{image_name}", item.image_path)
        h, w = item.mask.shape
        shapes = []
        for cid, label in self.labels:
            binary = item.mask == cid
            if binary.any():
                shapes += self._shapes(label, binary)
        shapes.sort(key=lambda s: s["shape_type"] == "mask")  # exact mask shapes drawn last
        self.put_json(f"{item.split}/{item.name}.json", {
            "version": LABELME_VERSION, "flags": {}, "shapes": shapes,
            "imagePath": image_name, "imageData": None, "imageHeight": h, "imageWidth": w,
        }, indent=1)

    def finish(self, items: list[tuple[str, str, str | None]]) -> None:
        names = [IGNORE_LABEL, BACKGROUND_LABEL] + [c.name for c in self._voc_order()]
        self.put_text("labels.txt", "\n".join(names) + "\n")
