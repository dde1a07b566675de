"""COCO: ``images/<split>/`` + ``annotations/{instances,semantic}_<split>.json``.

``instances``: one annotation per 8-connected component per class (iscrowd 0);
``semantic``: one annotation per class per image. Segmentation is compressed RLE
(pycocotools, pixel exact) or polygons in COCO's pixel-corner convention with holes spliced
in (see polygons.py). Category ids are our class ids; a class 0 named "background" and
the ignore label 255 are not annotated.
"""
from __future__ import annotations

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from .base import SPLITS, ExportItem, Writer, background_id
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
        bg = background_id(self.classes)
        self.cats = [c for c in self.classes if c.id != bg and c.id != self.ignore_index]
        self.data: dict[str, dict[str, list]] = {
            kind: {s: [] for s in SPLITS} for kind in ("images", "instances", "semantic")}

    def _annotation(self, ann_id: int, image_id: int, cat: int, rle: dict,
                    polygons: list[np.ndarray] | None) -> dict:
        segm: dict | list = rle if polygons is None else [p.ravel().tolist() for p in polygons]
        return {
            "id": ann_id, "image_id": image_id, "category_id": cat, "segmentation": segm,
            "area": int(mask_utils.area(rle)), "bbox": [float(v) for v in mask_utils.toBbox(rle)],
            "iscrowd": 0,
        }

    def write(self, item: ExportItem) -> None:
        suffix = item.image_path.suffix.lower() or ".png"
        file_name = f"{item.name}{suffix}"
        self.put_copy(f"images/{item.split}/{file_name}", item.image_path)
        h, w = item.mask.shape
        images = self.data["images"][item.split]
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": file_name, "height": h, "width": w})
        inst, sem = self.data["instances"][item.split], self.data["semantic"][item.split]
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
                    inst.append(self._annotation(len(inst) + 1, image_id, cat.id, rle, polys))
            sem.append(self._annotation(len(sem) + 1, image_id, cat.id,
                                        _rles(binary[:, :, None])[0],
                                        all_polys if as_polygons else None))

    def finish(self, items: list[tuple[str, str, str | None]]) -> None:
        categories = [{"id": c.id, "name": c.name, "supercategory": "",
                       "color": list(c.color)} for c in self.cats]
        info = {"description": "exported by resunet-gui", "version": "1.0"}
        for split in SPLITS:
            if not self.data["images"][split]:
                continue
            for kind in ("instances", "semantic"):
                self.put_json(f"annotations/{kind}_{split}.json", {
                    "info": info, "licenses": [], "categories": categories,
                    "images": self.data["images"][split],
                    "annotations": self.data[kind][split],
                }, indent=None)
