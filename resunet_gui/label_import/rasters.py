"""Shared by the raster formats (PNG masks, VOC, NIfTI): pixel values -> project class ids.

Each format names its values (classes.json, labelmap.txt, dataset.json, or our export's
manifest). A value the source does not name is refused (the image is skipped with the
reason), except when the source names nothing at all: then values are taken as the
project's own class ids, and values the project lacks are refused.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from resunet_gui.core.errors import ImageReadError
from resunet_gui.core.imageio import read_image, read_mask

from .base import LabelFile, LabelImportError
from .classes import ClassMap
from .files import manifest_stems, stem_of

MAX_VALUE = 1 << 16


def _lookup(value: int, names: dict[int, str], ignore: set[int], classes: ClassMap) -> int:
    if value in ignore:
        return classes.ignore
    if value in names:
        return classes.id_of(names[value])
    if not names and value in classes.project_ids:
        return value
    if not names:
        raise LabelImportError(f"pixel value {value} is not a class of this project "
                               "(the source names no classes)")
    raise LabelImportError(f"pixel value {value} is not a declared class of the source")


def remap(values: np.ndarray, names: dict[int, str], ignore: set[int],
          classes: ClassMap) -> np.ndarray:
    """uint8 mask of project ids from an integer-valued array of source values."""
    values = np.asarray(values)
    if values.dtype.kind == "b":
        values = values.astype(np.uint8)
    if values.dtype.kind == "f":
        if not np.isfinite(values).all() or not np.array_equal(values, np.round(values)):
            raise LabelImportError("label values are not whole numbers")
        values = values.astype(np.int64)
    if values.dtype.kind not in "ui":
        raise LabelImportError(f"label values of type {values.dtype} are not class indices")
    if values.size and (values.min() < 0 or values.max() >= MAX_VALUE):
        raise LabelImportError(f"label values {values.min()}..{values.max()} are out of range")
    if values.dtype == np.uint8:
        present = np.flatnonzero(np.bincount(values.ravel(), minlength=256))
        lut = np.zeros(256, np.uint8)
        for v in present:
            lut[v] = _lookup(int(v), names, ignore, classes)
        return lut[values]
    uniq, inverse = np.unique(values, return_inverse=True)
    lut = np.array([_lookup(int(v), names, ignore, classes) for v in uniq], np.uint8)
    return lut[inverse].reshape(values.shape)


def stem_files(paths: list[Path], root: Path, manifest: dict) -> list[LabelFile]:
    """A LabelFile per mask file: its stem (mapped back through our manifest when exported)."""
    back = manifest_stems(manifest)
    out = []
    for path in paths:
        stem = stem_of(path.name)
        out.append(LabelFile(back.get(stem, stem), str(path.relative_to(root)), path))
    return out


def read_index_png(path: Path, colors: dict[tuple[int, int, int], int]) -> np.ndarray:
    """Class indices of a palette/grey PNG, or of a colour PNG through ``colors`` (RGB -> value)."""
    try:
        return read_mask(path)
    except ImageReadError as exc:
        if not colors or "colour" not in str(exc):
            raise LabelImportError(str(exc)) from None
    try:
        rgb = read_image(path).raw
    except ImageReadError as exc:
        raise LabelImportError(str(exc)) from None
    if rgb.ndim != 3 or rgb.dtype != np.uint8:
        raise LabelImportError(f"{path.name}: a colour mask must be 8-bit RGB")
    code = (rgb[:, :, 0].astype(np.int32) << 16) | (rgb[:, :, 1].astype(np.int32) << 8) | rgb[:, :, 2]
    uniq, inverse = np.unique(code, return_inverse=True)
    table = {(r << 16) | (g << 8) | b: v for (r, g, b), v in colors.items()}
    missing = [int(u) for u in uniq if int(u) not in table]
    if missing:
        m = missing[0]
        raise LabelImportError(f"{path.name}: colour ({m >> 16}, {(m >> 8) & 255}, {m & 255}) "
                               "is not a class colour of the source")
    return np.array([table[int(u)] for u in uniq], np.uint8)[inverse].reshape(code.shape)
