"""NIfTI label maps: nnU-Net v2 datasets (``labelsTr/`` + ``dataset.json``) or plain files.

Label files are 2-D (``X x Y`` or ``X x Y x 1``) in the voxel order ITK and nnU-Net write
(``data[x, y, 0]`` is pixel row y, column x); the affine is not applied. ``dataset.json``
``labels`` ({name: value}) names the values; its ``ignore`` label becomes the project's
ignore value. Without dataset.json, an export of ours is read through its manifest.json
(``format_info.label_map`` {class id: value}, or values = class ids in older exports).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from resunet_gui.core.imageio import MAX_SIDE
from resunet_gui.core.types import IGNORE_INDEX

from .base import (
    IGNORE_NAMES,
    LabelFile,
    LabelImportError,
    Reader,
    Scan,
)
from .classes import ClassMap
from .files import list_files, manifest_classes, manifest_of, read_json
from .rasters import remap, stem_files
from .registry import register

SUFFIXES = (".nii.gz", ".nii")
LABEL_DIRS = ("labelsTr", "labelsTs", "labels")
IMAGE_DIRS = ("imagesTr", "imagesTs", "images")


def dataset_labels(path: Path) -> dict[str, int]:
    """``labels`` of a dataset.json as {name: value} (v2 {name: value} or v1 {"value": name});
    region-based labels are refused."""
    obj = read_json(path, 64 << 20)
    labels = obj.get("labels") if isinstance(obj, dict) else None
    if not isinstance(labels, dict):
        raise LabelImportError(f"{path.name} has no 'labels' object")
    if labels and all(str(k).isdigit() and isinstance(v, str) for k, v in labels.items()):
        labels = {v: int(k) for k, v in labels.items()}  # nnU-Net v1 / MSD: {"1": "name"}
    out: dict[str, int] = {}
    for name, value in labels.items():
        if isinstance(value, list):
            raise LabelImportError(f"{path.name}: region-based label {name!r} is not supported")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 16:
            raise LabelImportError(f"{path.name}: label {name!r} must be a whole number")
        out[str(name)] = value
    return out


def value_names(root: Path) -> tuple[dict[int, str], set[int]]:
    """Value -> class name, and the values meaning "ignore"."""
    names: dict[int, str] = {}
    ignore = {IGNORE_INDEX}
    dataset = root / "dataset.json"
    if dataset.is_file() and not dataset.is_symlink():
        for name, value in dataset_labels(dataset).items():
            if name.strip().lower() in IGNORE_NAMES:
                ignore = {value}
            else:
                names.setdefault(value, name)
    if not names:
        names, ignore_value = manifest_values(manifest_of(root))
        ignore |= {ignore_value} if ignore_value is not None else set()
    return names, ignore


def manifest_values(manifest: dict) -> tuple[dict[int, str], int | None]:
    """Value -> name (and the ignore value) from our export's manifest."""
    classes = manifest_classes(manifest)
    info = manifest.get("format_info")
    info = info if isinstance(info, dict) else {}
    label_map, ignore = info.get("label_map"), info.get("ignore_value")
    ignore = ignore if isinstance(ignore, int) and not isinstance(ignore, bool) else None
    if not isinstance(label_map, dict):
        return classes, ignore
    out = {}
    for cid, value in label_map.items():
        if str(cid).isdigit() and int(cid) in classes and isinstance(value, int):
            out[value] = classes[int(cid)]
    return out, ignore


def read_plane(path: Path, size: tuple[int, int]) -> np.ndarray:
    """The HxW label plane of a 2-D NIfTI file, checked against the image size."""
    try:
        img: Any = nib.load(str(path))  # any nibabel image type; checked below
        shape = tuple(int(s) for s in img.shape)
        if len(shape) < 2 or any(s != 1 for s in shape[2:]):
            raise LabelImportError(f"{path.name} is a {'x'.join(map(str, shape))} volume, "
                                   "not a 2-D label map")
        if shape[0] > MAX_SIDE or shape[1] > MAX_SIDE:
            raise LabelImportError(f"{path.name} is larger than {MAX_SIDE} pixels a side")
        if (shape[1], shape[0]) != tuple(size):
            raise LabelImportError(f"labels are {shape[0]}x{shape[1]}, the image is "
                                   f"{size[1]}x{size[0]}")
        data = np.asanyarray(img.dataobj)
    except LabelImportError:
        raise
    except MemoryError:
        raise LabelImportError(f"{path.name}: not enough memory to read it") from None
    except Exception as exc:  # nibabel/gzip raise many types on corrupt input
        raise LabelImportError(f"{path.name} is not a readable NIfTI file ({str(exc)[:80]})") from None
    return data.reshape(shape[:2]).T


@register
class NiftiReader(Reader):
    name = "nifti"
    description = "NIfTI label maps (nnU-Net v2 labelsTr/ + dataset.json, or plain .nii/.nii.gz)"

    def scan(self) -> Scan:
        root = self.source
        if root.is_file():
            raise LabelImportError(f"{root} is a file; give the folder holding the label maps")
        self.names, self.ignore = value_names(root)
        dirs = [root / d for d in LABEL_DIRS if (root / d).is_dir() and not (root / d).is_symlink()]
        paths, warnings = [], []
        for folder in dirs or [root]:
            found, links = list_files(folder, SUFFIXES, skip_dirs=IMAGE_DIRS)
            paths += found
            warnings += links
        if not paths:
            raise LabelImportError(f"no .nii/.nii.gz label maps found in {root}")
        if not self.names:
            warnings.append("no dataset.json: label values are taken as this project's class ids")
        return Scan(stem_files(paths, root, manifest_of(root)), {}, warnings)

    def render(self, item: LabelFile, size: tuple[int, int],
               classes: ClassMap) -> tuple[np.ndarray, list[str]]:
        return remap(read_plane(item.payload, size), self.names, self.ignore, classes), []
