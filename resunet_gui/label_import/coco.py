"""COCO JSON: polygons or RLE (compressed or not), one file or a folder of them.

Images match the project by the stem of ``file_name``; categories by name (their ids may
be any integers). Annotations are painted in file order onto the unlabelled value. In a
folder, ``semantic_*.json`` beside an ``instances_*.json`` (both written by our export,
same pixels) is skipped; JSON files that are not COCO (no images/annotations) are reported.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .base import LabelFile, LabelImportError, Reader, Scan
from .classes import ClassMap
from .files import list_files, manifest_of, manifest_stems, read_json, stem_from_reference
from .registry import register
from .shapes import coco_polygons, decode_rle


def _json_files(source: Path) -> tuple[list[Path], list[str]]:
    if source.is_file():
        return [source], []
    folder = source / "annotations" if (source / "annotations").is_dir() else source
    paths, warnings = list_files(folder, (".json",))
    paths = [p for p in paths if p.name not in ("manifest.json", "dataset.json")]
    names = {p.name for p in paths}
    dropped = [p for p in paths if p.name.startswith("semantic_")
               and p.name.replace("semantic_", "instances_", 1) in names]
    return [p for p in paths if p not in dropped], warnings


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _categories(doc: dict, path: Path) -> dict[int, tuple[str, Any]]:
    cats: dict[int, tuple[str, Any]] = {}
    for cat in doc.get("categories") or []:
        if not isinstance(cat, dict) or _int(cat.get("id")) is None \
                or not isinstance(cat.get("name"), str) or not cat["name"].strip():
            raise LabelImportError(f"{path.name}: every category needs an integer id and a name")
        cats.setdefault(cat["id"], (cat["name"], cat.get("color")))
    return cats


def _load(path: Path) -> tuple[dict, dict[int, tuple[str, Any]]]:
    doc = read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) \
            or not isinstance(doc.get("annotations"), list):
        raise LabelImportError(f"{path.name} is not a COCO file (no images/annotations lists)")
    return doc, _categories(doc, path)


def _color(value: Any) -> tuple[int, int, int] | None:
    if isinstance(value, list) and len(value) == 3 and all(
            _int(v) is not None and 0 <= v <= 255 for v in value):
        return value[0], value[1], value[2]
    return None


@register
class CocoReader(Reader):
    name = "coco"
    description = "COCO JSON segmentation (polygons or RLE), matched by file_name"

    def scan(self) -> Scan:
        paths, warnings = _json_files(self.source)
        root = self.source if self.source.is_dir() else self.source.parent
        back = manifest_stems(manifest_of(root))
        files: list[LabelFile] = []
        colors: dict[str, tuple[int, int, int]] = {}
        for path in paths:
            try:
                doc, cats = _load(path)
            except LabelImportError as exc:
                if self.source.is_file():
                    raise
                warnings.append(f"{exc}; skipped")
                continue
            for name, color in cats.values():
                if _color(color) is not None:
                    colors.setdefault(name, _color(color))  # type: ignore[arg-type]
            files += self._images(doc, path, cats, back, warnings)
        if not files:
            why = f" ({warnings[-1]})" if warnings else ""
            raise LabelImportError(f"no COCO images found in {self.source}{why}")
        return Scan(files, colors, warnings)

    def _images(self, doc: dict, path: Path, cats: dict[int, tuple[str, Any]],
                back: dict[str, str], warnings: list[str]) -> list[LabelFile]:
        anns: dict[int, list[tuple[str, Any]]] = {}
        unknown = 0
        for ann in doc["annotations"]:
            if not isinstance(ann, dict) or _int(ann.get("image_id")) is None:
                continue
            cat = cats.get(ann["category_id"]) if _int(ann.get("category_id")) is not None else None
            if cat is None or ann.get("segmentation") in (None, [], {}):
                unknown += 1
                continue
            anns.setdefault(ann["image_id"], []).append((cat[0], ann["segmentation"]))
        if unknown:
            warnings.append(f"{path.name}: {unknown} annotation(s) without a known category or "
                            "a segmentation left out")
        files = []
        for im in doc["images"]:
            stem = stem_from_reference(im.get("file_name")) if isinstance(im, dict) else None
            if stem is None or _int(im.get("id")) is None:
                warnings.append(f"{path.name}: an image entry without a usable id/file_name skipped")
                continue
            size = (_int(im.get("height")), _int(im.get("width")))
            files.append(LabelFile(back.get(stem, stem), f"{path.name}#{im.get('file_name')}",
                                   (size, anns.get(im["id"], []))))
        return files

    def render(self, item: LabelFile, size: tuple[int, int],
               classes: ClassMap) -> tuple[np.ndarray, list[str]]:
        (h, w), anns = item.payload
        if (h is not None and h != size[0]) or (w is not None and w != size[1]):
            raise LabelImportError(f"COCO says the image is {w}x{h}, it is {size[1]}x{size[0]}")
        mask = np.full(size, classes.fill, np.uint8)
        for name, seg in anns:
            mask[_segmentation(seg, size)] = classes.id_of(name)
        return mask, []


def _segmentation(seg: Any, size: tuple[int, int]) -> np.ndarray:
    if isinstance(seg, list):
        return coco_polygons(seg, size)
    if isinstance(seg, dict) and "counts" in seg:
        rle_size = seg.get("size")
        if rle_size is not None and rle_size != list(size):
            raise LabelImportError(f"an RLE has size {str(rle_size)[:40]} (height, width), the "
                                   f"image is {size[0]}, {size[1]}")
        return decode_rle(seg["counts"], size)
    raise LabelImportError("a segmentation is neither polygons nor RLE")
