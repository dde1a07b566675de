"""YOLO segmentation (Ultralytics): ``labels/**/<stem>.txt`` + class names in ``data.yaml``.

Each line is ``<class> x1 y1 x2 y2 ...`` normalised by the image's width and height (taken
from the project's image); rings are filled like the app's polygon tool. Names come from
``data.yaml`` ``names`` (a list or an index mapping, block or flow style; no YAML library
needed) or ``classes.txt`` / ``*.names``. Lines of fewer than 3 points (boxes, specks)
are left out and reported.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .base import LabelFile, LabelImportError, Reader, Scan
from .classes import ClassMap
from .files import list_files, manifest_of, read_text
from .rasters import stem_files
from .registry import register
from .shapes import as_points, fill_ring

_ITEM = re.compile(r"""\s*("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^,]+?)\s*(?:,|$)""")
NAME_FILES = ("classes.txt", "obj.names")


def _scalar(text: str) -> str:
    text = text.strip()
    if text.startswith('"'):
        try:
            return str(json.loads(text))
        except ValueError:
            return text.strip('"')
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    return re.split(r"\s+#", text, maxsplit=1)[0].strip()


def _keyed(items: list[str]) -> list[str]:
    """``["0: a", "1: b"]`` (any order) or ``["a", "b"]`` -> names by index."""
    pairs = [re.match(r"^\s*(\d+)\s*:\s*(.*)$", it) for it in items]
    if items and all(pairs):
        table = {int(m.group(1)): _scalar(m.group(2)) for m in pairs if m}
        if sorted(table) != list(range(len(table))):
            raise LabelImportError("data.yaml names must be numbered 0, 1, 2, ...")
        return [table[i] for i in range(len(table))]
    return [_scalar(it) for it in items]


def parse_names(yaml_text: str) -> list[str]:
    """The ``names`` of an Ultralytics data.yaml, without a YAML library."""
    lines = yaml_text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^names\s*:\s*(.*)$", line)
        if not m:
            continue
        rest = m.group(1).split(" #", 1)[0].strip()
        if rest:  # flow style: [a, b] or {0: a, 1: b}
            inner = rest.strip("[]{}")
            return _keyed([g for g in _ITEM.findall(inner) if g.strip()])
        block = []
        for nxt in lines[i + 1:]:
            if nxt.strip() and not nxt.startswith((" ", "\t", "-")):
                break
            entry = nxt.strip()
            if entry and not entry.startswith("#"):
                block.append(entry[1:] if entry.startswith("-") else entry)
        return _keyed(block)
    raise LabelImportError("data.yaml has no 'names'")


def find_names(root: Path) -> list[str]:
    for yaml in sorted(root.glob("*.yaml")) + sorted(root.glob("*.yml")):
        if yaml.is_file() and not yaml.is_symlink() and "names" in read_text(yaml):
            return parse_names(read_text(yaml))
    for name in NAME_FILES:
        if (root / name).is_file() and not (root / name).is_symlink():
            return [ln.strip() for ln in read_text(root / name).splitlines() if ln.strip()]
    raise LabelImportError(f"no data.yaml (or classes.txt) with class names in {root}")


@register
class YoloReader(Reader):
    name = "yolo"
    description = "YOLO segmentation: labels/**/*.txt normalised polygons + data.yaml names"

    def scan(self) -> Scan:
        root = self.source
        if root.is_file():
            raise LabelImportError(f"{root} is a file; give the YOLO dataset folder")
        self.names = find_names(root)
        if not self.names or any(not n for n in self.names):
            raise LabelImportError("YOLO class names must not be empty")
        labels = root / "labels"
        folder = labels if labels.is_dir() and not labels.is_symlink() else root
        paths, warnings = list_files(folder, (".txt",))
        paths = [p for p in paths if p.name not in NAME_FILES]
        if not paths:
            raise LabelImportError(f"no YOLO label files (*.txt) in {folder}")
        return Scan(stem_files(paths, root, manifest_of(root)), {}, warnings)

    def render(self, item: LabelFile, size: tuple[int, int],
               classes: ClassMap) -> tuple[np.ndarray, list[str]]:
        h, w = size
        mask = np.full(size, classes.fill, np.uint8)
        short = 0
        for number, line in enumerate(read_text(item.payload).splitlines(), 1):
            tokens = line.split()
            if not tokens:
                continue
            try:
                index = int(tokens[0])
                coords = as_points(tokens[1:], (1, 1), flat=True) * (w, h)
            except (ValueError, LabelImportError) as exc:
                raise LabelImportError(f"line {number}: {exc}") from None
            if not 0 <= index < len(self.names):
                raise LabelImportError(f"line {number}: class {index} is not in data.yaml names")
            if not fill_ring(mask, coords, classes.id_of(self.names[index])):
                short += 1
        notes = [f"{short} line(s) with fewer than 3 points left out"] if short else []
        return mask, notes
