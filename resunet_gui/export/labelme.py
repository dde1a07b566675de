"""labelme: ``<split>/<name>.<ext>`` beside ``<split>/<name>.json`` polygon files.

Points are pixel centres (labelme draws and rasterises that way), one polygon per
8-connected component with holes spliced in (polygons.py). A class 0 named "background"
is not drawn; 255 becomes polygons labelled ``__ignore__``, which labelme's own
``labelme2voc`` maps back to the ignore value. ``labels.txt`` lists the labels in
labelme2voc order (``__ignore__`` = -1, then the classes by id, background as ``_background_``).
"""
from __future__ import annotations

from .base import ExportItem, Writer, background_id
from .polygons import mask_to_polygons
from .registry import register

LABELME_VERSION = "5.5.0"
IGNORE_LABEL = "__ignore__"


@register
class LabelmeWriter(Writer):
    name = "labelme"
    description = "labelme JSON polygons beside each image"
    ignore_note = "255 regions are polygons labelled __ignore__ (labelme2voc convention)"

    def begin(self) -> None:
        self.bg = background_id(self.classes)
        self.labels = [(c.id, c.name) for c in self.classes if c.id not in (self.bg, self.ignore_index)]
        self.labels.append((self.ignore_index, IGNORE_LABEL))

    def write(self, item: ExportItem) -> None:
        suffix = item.image_path.suffix.lower() or ".png"
        image_name = f"{item.name}{suffix}"
        self.put_copy(f"{item.split}/{image_name}", item.image_path)
        h, w = item.mask.shape
        shapes = []
        for cid, label in self.labels:
            binary = item.mask == cid
            if not binary.any():
                continue
            for ring in mask_to_polygons(binary, "center"):
                shapes.append({
                    "label": label, "points": ring.tolist(), "group_id": None,
                    "description": "", "shape_type": "polygon", "flags": {}, "mask": None,
                })
        self.put_json(f"{item.split}/{item.name}.json", {
            "version": LABELME_VERSION, "flags": {}, "shapes": shapes,
            "imagePath": image_name, "imageData": None, "imageHeight": h, "imageWidth": w,
        }, indent=1)

    def finish(self, items: list[tuple[str, str, str | None]]) -> None:
        names = [IGNORE_LABEL] + ["_background_" if c.id == self.bg else c.name for c in self.classes]
        self.put_text("labels.txt", "\n".join(names) + "\n")
