"""PNG masks: a ``masks/`` folder (or a folder of PNGs) of class-index images + classes.json.

This is our own ``png`` export and any dataset laid out like a resunet-gui project; palette
PNGs are read as their indices. Values are named by ``classes.json`` (or the export's
manifest); its ``ignore_index`` (and 255) becomes the project's ignore value.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from resunet_gui.core.errors import ProjectError
from resunet_gui.core.project_state import load_classes_file
from resunet_gui.core.types import IGNORE_INDEX

from .base import LabelFile, LabelImportError, Reader, Scan
from .classes import ClassMap
from .files import list_files, manifest_classes, manifest_of
from .rasters import read_index_png, remap, stem_files
from .registry import register


@register
class PngReader(Reader):
    name = "png"
    description = "class-index PNG masks (masks/ + classes.json, as the png export writes)"

    def _root_and_masks(self) -> tuple[Path, Path]:
        if self.source.is_file():
            raise LabelImportError(f"{self.source} is a file; give the folder holding masks/")
        masks = self.source / "masks"
        return self.source, masks if masks.is_dir() else self.source

    def scan(self) -> Scan:
        root, masks = self._root_and_masks()
        self.names: dict[int, str] = {}
        self.ignore = {IGNORE_INDEX}
        classes_file = root / "classes.json"
        if classes_file.is_file() and not classes_file.is_symlink():
            try:
                specs, ignore = load_classes_file(classes_file)
            except ProjectError as exc:
                raise LabelImportError(str(exc)) from None
            self.names = {c.id: c.name for c in specs}
            self.ignore |= {ignore} if ignore is not None else set()
            colors = {c.name: c.color for c in specs}
        else:
            self.names = manifest_classes(manifest_of(root))
            colors = {}
        paths, warnings = list_files(masks, (".png",), recursive=False)
        if not paths:
            raise LabelImportError(f"no PNG masks found in {masks}")
        if not self.names:
            warnings.append("no classes.json: mask values are taken as this project's class ids")
        return Scan(stem_files(paths, root, manifest_of(root)), colors, warnings)

    def render(self, item: LabelFile, size: tuple[int, int],
               classes: ClassMap) -> tuple[np.ndarray, list[str]]:
        return remap(read_index_png(item.payload, {}), self.names, self.ignore, classes), []
