"""YOLO segmentation (ultralytics layout): ``images/<split>/``, ``labels/<split>/*.txt``, ``data.yaml``.

Each line is ``<class> x1 y1 x2 y2 ...`` normalised by width/height, one line per
8-connected component, in the pixel-centre convention ultralytics rasterises with
``cv2.fillPoly``; holes are spliced into the ring (polygons.py). YOLO class indices are
contiguous from 0 over the exported classes (a class 0 named "background" and 255 are left
out); data.yaml maps them back to names.

Rings are simplified (Douglas-Peucker, ``options.simplify_px``, piece by piece between the
hole bridges so those stay exact; doubled, up to 2 px, until a line has at most
``options.max_points`` points, else counted in ``lines_over_cap``) and lines with fewer than 3 points or an area under
``options.min_area_px2`` are dropped (Ultralytics turns them into zero-area boxes); the
manifest's ``format_info`` records the tolerances and the number dropped.

``data.yaml`` names the export folder by its absolute path: Ultralytics <= 8.0 joins a
relative ``path`` to its own datasets dir, later versions to the working directory when that
exists, so only an absolute path resolves to this folder in every version.
"""
from __future__ import annotations

import json

import numpy as np

from .base import SPLITS, ExportItem, Writer, exported_classes
from .polygons import capped_pieces, component_pieces, ring_area
from .registry import register


def _fmt(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".") if v else "0"


@register
class YoloWriter(Writer):
    name = "yolo"
    description = "YOLO segmentation: normalised polygon .txt per image + data.yaml"
    ignore_note = "255 pixels are not annotated; class 0 'background' is not a YOLO class"

    def begin(self) -> None:
        self.cats = exported_classes(self.classes)
        self.used: set[str] = set()
        opts = self.options
        self.info.update({
            "class_index": {str(c.id): i for i, c in enumerate(self.cats)},
            "simplify_epsilon_px": opts.simplify_px, "max_points": opts.max_points,
            "min_area_px2": opts.min_area_px2, "max_epsilon_used_px": opts.simplify_px,
            "dropped_components": 0, "lines_over_cap": 0, "convention": "pixel centre"})

    def _rings(self, binary: np.ndarray) -> list[np.ndarray]:
        """Simplified, capped, non-degenerate rings of one class mask."""
        out = []
        for pieces in component_pieces(binary, "center"):
            ring, eps = capped_pieces(pieces, self.options.simplify_px, self.options.max_points)
            self.info["max_epsilon_used_px"] = max(self.info["max_epsilon_used_px"], eps)
            self.info["lines_over_cap"] += int(len(ring) > self.options.max_points)
            if len(ring) < 3 or ring_area(ring) < self.options.min_area_px2:
                self.info["dropped_components"] += 1
                continue
            out.append(ring)
        return out

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
            for ring in self._rings(binary):
                coords = (ring / scale).ravel()
                lines.append(" ".join([str(index)] + [_fmt(float(v)) for v in coords]))
        self.put_text(f"labels/{item.split}/{item.name}.txt", "".join(f"{ln}\n" for ln in lines))
        self.used.add(item.split)

    def finish(self, items: list[tuple[str, str, str | None]]) -> None:
        # written by hand (no PyYAML dependency); JSON strings are valid YAML scalars
        root = json.dumps(str(self.final_root.resolve()), ensure_ascii=False)
        lines = ["# exported by resunet-gui; path is absolute (see docs/EXPORT_FORMATS.md)",
                 f"path: {root}",
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
