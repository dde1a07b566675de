"""Pascal VOC: ``SegmentationClass/*.png`` (palette PNGs whose indices are classes).

The folder may be the VOC root, a ``VOCdevkit`` above it, or the SegmentationClass folder
itself. Classes are named by our manifest (an export of ours), else ``labelmap.txt`` (CVAT
and Datumaro: line order is the index, ``name:r,g,b:...``), else the 21 Pascal VOC names.
255 is VOC's void boundary and becomes the ignore value. Colour (RGB) masks are read
through the labelmap colours.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from resunet_gui.core.types import IGNORE_INDEX

from .base import LabelFile, LabelImportError, Reader, Scan
from .classes import ClassMap
from .files import list_files, manifest_classes, manifest_of, read_text
from .rasters import read_index_png, remap, stem_files
from .registry import register

VOC_CLASSES = ("background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car",
               "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person",
               "pottedplant", "sheep", "sofa", "train", "tvmonitor")
VOID_COLOR = (224, 224, 192)


def voc_color(index: int) -> tuple[int, int, int]:
    """The Pascal VOC colour map (bit-interleaved index)."""
    r = g = b = 0
    for shift in range(8):
        r |= ((index >> 0) & 1) << (7 - shift)
        g |= ((index >> 1) & 1) << (7 - shift)
        b |= ((index >> 2) & 1) << (7 - shift)
        index >>= 3
    return r, g, b


def parse_labelmap(text: str) -> list[tuple[str, tuple[int, int, int] | None]]:
    """``name:r,g,b:parts:actions`` lines (comments skipped) -> [(name, colour or None)]."""
    out: list[tuple[str, tuple[int, int, int] | None]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, rest = line.partition(":")
        color = None
        parts = rest.split(":", 1)[0].split(",")
        if len(parts) == 3 and all(p.strip().isdigit() and int(p) < 256 for p in parts):
            color = (int(parts[0]), int(parts[1]), int(parts[2]))
        if name.strip():
            out.append((name.strip(), color))
    return out


def _find_masks(source: Path) -> Path:
    if source.is_file():
        raise LabelImportError(f"{source} is a file; give the VOC folder")
    if source.name == "SegmentationClass":
        return source
    for depth in ("", "*/", "*/*/"):
        hits = sorted(p for p in source.glob(f"{depth}SegmentationClass")
                      if p.is_dir() and not p.is_symlink())
        if hits:
            return hits[0]
    raise LabelImportError(f"no SegmentationClass folder in {source}")


@register
class VocReader(Reader):
    name = "voc"
    description = "Pascal VOC SegmentationClass palette PNGs (labelmap.txt names the classes)"

    def scan(self) -> Scan:
        masks = _find_masks(self.source)
        root = masks.parent
        manifest = manifest_of(root)
        self.names = manifest_classes(manifest)
        self.colors: dict[tuple[int, int, int], int] = {VOID_COLOR: IGNORE_INDEX}
        labelmap = root / "labelmap.txt"
        entries = parse_labelmap(read_text(labelmap)) if labelmap.is_file() else []
        warnings = []
        if not self.names:
            self.names = {i: n for i, (n, _) in enumerate(entries)}
        if not self.names:
            self.names = dict(enumerate(VOC_CLASSES))
            entries = [(n, voc_color(i)) for i, n in enumerate(VOC_CLASSES)]
            warnings.append("no labelmap.txt: the 21 Pascal VOC class names are assumed")
        by_name = {n: c for n, c in entries if c is not None}
        for value, name in self.names.items():
            if name in by_name:
                self.colors.setdefault(by_name[name], value)
        paths, links = list_files(masks, (".png",), recursive=False)
        if not paths:
            raise LabelImportError(f"no PNG masks in {masks}")
        return Scan(stem_files(paths, root, manifest), by_name, warnings + links)

    def render(self, item: LabelFile, size: tuple[int, int],
               classes: ClassMap) -> tuple[np.ndarray, list[str]]:
        values = read_index_png(item.payload, self.colors)
        return remap(values, self.names, {IGNORE_INDEX}, classes), []
