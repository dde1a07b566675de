"""COCO: ``images/<split>/`` + ``annotations/{instances,semantic}_<split>.json``.

``instances``: one annotation per 8-connected component per class (iscrowd 0);
``semantic``: one annotation per class per image. Segmentation is compressed RLE
(pycocotools, pixel exact) or polygons in COCO's pixel-corner convention with holes spliced
in (see polygons.py). Category ids start at 1 (COCO's convention; torchvision's detection
references treat 0 as background): the exported classes sorted by id get 1, 2, ...; each
category keeps ``resunet_class_id`` and the manifest records the mapping. A class 0 named
"background" and the ignore label 255 are not annotated.

Annotations are streamed into the JSON files as they are made (memory stays flat however
many masks there are); only the small image records are held until the end.
"""
from __future__ import annotations

import json

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from .base import SPLITS, ExportItem, HashingWriter, Writer, exported_classes
from .polygons import mask_to_polygons
from .registry import register


def _rles(binaries: np.ndarray) -> list[dict]:
    """Compressed RLEs (JSON-ready) of an HxWxN boolean stack."""
    rles = mask_utils.encode(np.asfortranarray(binaries.astype(np.uint8)))
    for r in rles:
        r["counts"] = r["counts"].decode("ascii")
    return rles


@register
class CocoWriter(Writer):
    name = "coco"
    description = "COCO JSON (instances per connected component + semantic), RLE or polygons"
    ignore_note = "255 pixels are not annotated (neither instance nor semantic); class 0 'background' is not a category"

    def begin(self) -> None:
        self.cats = exported_classes(self.classes)
        self.cat_id = {c.id: i + 1 for i, c in enumerate(self.cats)}
        self.info["category_ids"] = {str(c.id): self.cat_id[c.id] for c in self.cats}
        self.images: dict[str, list[dict]] = {s: [] for s in SPLITS}
        self.streams: dict[tuple[str, str], HashingWriter] = {}
        self.counts: dict[tuple[str, str], int] = {}

    def _categories(self) -> list[dict]:
        return [{"id": self.cat_id[c.id], "name": c.name, "supercategory": "",
                 "resunet_class_id": c.id, "color": list(c.color)} for c in self.cats]

    def _emit(self, kind: str, split: str, ann: dict) -> None:
        """Append one annotation to ``annotations/<kind>_<split>.json``, opening it if needed."""
        key = (kind, split)
        if key not in self.streams:
            self._open(kind, split)
        self.counts[key] += 1
        ann["id"] = self.counts[key]
        self.streams[key].write(("" if ann["id"] == 1 else ", ") + json.dumps(ann))

    def _annotation(self, image_id: int, cat: int, rle: dict,
                    polygons: list[np.ndarray] | None) -> dict:
        segm: dict | list = rle if polygons is None else [p.ravel().tolist() for p in polygons]
        return {
            "id": 0, "image_id": image_id, "category_id": self.cat_id[cat], "segmentation": segm,
            "area": int(mask_utils.area(rle)), "bbox": [float(v) for v in mask_utils.toBbox(rle)],
            "iscrowd": 0,
        }

    def write(self, item: ExportItem) -> None:
        suffix = item.image_path.suffix.lower() or ".png"
        file_name = f"{item.name}{suffix}"
        self.put_copy(f"images/{item.split}/{file_name}", item.image_path)
        h, w = item.mask.shape
        images = self.images[item.split]
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": file_name, "height": h, "width": w})
        as_polygons = self.options.coco_mode == "polygon"
        for cat in self.cats:
            binary = item.mask == cat.id
            if not binary.any():
                continue
            n, labels, stats, _ = cv2.connectedComponentsWithStats(
                binary.astype(np.uint8), connectivity=8)
            all_polys: list[np.ndarray] = []
            # encode components in chunks to bound memory on images with many blobs
            for start in range(1, n, 64):
                ids = np.arange(start, min(n, start + 64))
                for k, rle in zip(ids, _rles(labels[:, :, None] == ids[None, None, :]), strict=True):
                    polys = None
                    if as_polygons:  # trace each blob inside its own bounding box: fast
                        x, y, bw, bh = (int(v) for v in stats[k, :4])
                        polys = [p + (x, y) for p in
                                 mask_to_polygons(labels[y:y + bh, x:x + bw] == k, "corner")]
                        all_polys += polys
                    self._emit("instances", item.split, self._annotation(image_id, cat.id, rle, polys))
            self._emit("semantic", item.split, self._annotation(
                image_id, cat.id, _rles(binary[:, :, None])[0], all_polys if as_polygons else None))

    def finish(self, items: list[tuple[str, str, str | None]]) -> None:
        for split in SPLITS:
            if not self.images[split]:
                continue
            for kind in ("instances", "semantic"):
                if (kind, split) not in self.streams:  # images without any annotation
                    self._open(kind, split)
                with self.streams.pop((kind, split)) as stream:
                    stream.write('], "images": ' + json.dumps(self.images[split]) + "}\n")

    def _open(self, kind: str, split: str) -> None:
        """Start ``annotations/<kind>_<split>.json`` up to its open annotations list."""
        stream = self.put_stream(f"annotations/{kind}_{split}.json")
        stream.write(json.dumps({"info": {"description": "exported by resunet-gui", "version": "1.0"},
                                 "licenses": [], "categories": self._categories()})[:-1])
        stream.write(', "annotations": [')
        self.streams[(kind, split)], self.counts[(kind, split)] = stream, 0

    def abort(self) -> None:
        for stream in self.streams.values():
            stream.__exit__(None, None, None)
        self.streams.clear()
