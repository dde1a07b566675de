"""YOLO segmentation (ultralytics layout): ``images/<split>/``, ``labels/<split>/*.txt``, ``data.yaml``.

Each line is ``<class> x1 y1 x2 y2 ...`` normalised by width/height, one line per
8-connected component, in the pixel-centre convention ultralytics rasterises with
``cv2.fillPoly``; holes are spliced into the ring (polygons.py). YOLO class indices are
contiguous from 0 over the exported classes (a class 0 named "background" and 255 are left
out); data.yaml maps them back to names.
"""
from __future__ import annotations

import json

import numpy as np

from .base import SPLITS, ExportItem, Writer, background_id
from .polygons import mask_to_polygons
from .registry import register


def _fmt(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".") if v else "0"


@register
class YoloWriter(Writer):
    name = "yolo"
    description = "YOLO segmentation: normalised polygon .txt per image + data.yaml"
    ignore_note = "255 pixels are not annotated; class 0 'background' is not a YOLO class"

    def begin(self) -> None:
        bg = background_id(self.classes)
        self.cats = [c for c in self.classes if c.id != bg and c.id != self.ignore_index]
        self.used: set[str] = set()

    def write(self, item: ExportItem) -> None:
        suffix = item.image_path.suffix.lower() or ".png"
        self.put_copy(f"images/{item.split}/{item.name}{suffix}", item.image_path)
        h, w = item.mask.shape
        scale = np.array([w, h], np.float64)
        lines = []
        for index, cat in enumerate(self.cats):
            binary = item.mask == cat.id
            if not binary.any():
                continue
            for ring in mask_to_polygons(binary, "center"):
                coords = (ring / scale).ravel()
                lines.append(" ".join([str(index)] + [_fmt(float(v)) for v in coords]))
        self.put_text(f"labels/{item.split}/{item.name}.txt", "".join(f"{ln}\n" for ln in lines))
        self.used.add(item.split)

    def finish(self, items: list[tuple[str, str, str | None]]) -> None:
        # written by hand (no PyYAML dependency); JSON strings are valid YAML scalars
        lines = ["# exported by resunet-gui", "path: .",
                 f"train: images/{'train' if 'train' in self.used else next(iter(sorted(self.used)))}"]
        for split in SPLITS[1:]:
            if split in self.used:
                lines.append(f"{split}: images/{split}")
        if "val" not in self.used:  # ultralytics requires a val entry
            lines.append(lines[2].replace("train:", "val:", 1))
        lines.append(f"nc: {len(self.cats)}")
        lines.append("names:")
        lines += [f"  {i}: {json.dumps(c.name, ensure_ascii=False)}" for i, c in enumerate(self.cats)]
        self.put_text("data.yaml", "\n".join(lines) + "\n")
