"""NIfTI (``.nii.gz``, nibabel) as an nnU-Net v2 raw dataset.

Layout: ``imagesTr/<case>_<CCCC>.nii.gz`` + ``labelsTr/<case>.nii.gz`` (train and val),
``imagesTs``/``labelsTs`` (test), ``dataset.json`` and ``splits_final.json`` (our train/val
split as nnU-Net's fold 0). One file per channel in the image's own dtype, labels uint8.

Orientation: nnU-Net's own 2D converters write ``sitk.GetImageFromArray(pixels[None])``,
whose identity ITK direction (LPS) is the NIfTI affine ``diag(-1, -1, 1)`` (RAS). Arrays
are stored as ``[x, y, 0] = pixel[y, x]`` with that affine, so SimpleITK's
``GetArrayFromImage(...)[0]`` and ``nib.load(...).dataobj[:, :, 0].T`` both give the PNG's
pixels, the right way up, and ITK viewers agree with nibabel.

Labels: nnU-Net wants ``background`` = 0 and consecutive values, with the ignore label the
highest. A class 0 named like background stays 0; otherwise 0 is a declared (unused)
background and the classes move up; 255 becomes the value after the last class. The
mapping is in the manifest (``format_info.label_map``).
"""
from __future__ import annotations

import gzip
import io

import nibabel as nib
import numpy as np
from nibabel.dataobj_images import DataobjImage

from resunet_gui.core.imageio import read_image

from .base import ExportItem, Writer, background_id
from .registry import register

AFFINE = np.diag([-1.0, -1.0, 1.0, 1.0])
FOLDERS = {"train": "Tr", "val": "Tr", "test": "Ts"}


def nifti_bytes(plane: np.ndarray) -> bytes:
    """Gzipped NIfTI-1 bytes of an HxW plane, stored as x, y, z=1; gzip mtime 0 (reproducible)."""
    img = nib.Nifti1Image(np.ascontiguousarray(plane.T)[:, :, None], AFFINE)
    img.set_qform(AFFINE, code=1)
    img.set_sform(AFFINE, code=1)
    img.header.set_xyzt_units("mm")
    raw = img.to_bytes()
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=6, mtime=0) as gz:
        gz.write(raw)
    return buf.getvalue()


def read_nifti_plane(path) -> np.ndarray:
    """HxW array back from a file written by ``nifti_bytes`` (values as stored)."""
    img = nib.load(str(path))
    if not isinstance(img, DataobjImage):
        raise ValueError(f"{path}: not an image with voxel data ({type(img).__name__})")
    return np.asarray(img.dataobj)[:, :, 0].T


def _channel_names(n: int) -> dict[str, str]:
    if n == 1:
        return {"0": "gray"}
    return {str(c): ("R", "G", "B", "A")[c] if c < 4 else f"c{c}" for c in range(n)}


@register
class NiftiWriter(Writer):
    name = "nifti"
    description = "nnU-Net v2 raw dataset: imagesTr/labelsTr/imagesTs NIfTI + dataset.json (exact)"
    ignore_note = "255 is written as the nnU-Net ignore label (highest value; format_info.ignore_value)"

    def begin(self) -> None:
        self.channels = 0
        self.seen_ignore = False
        classes = [c for c in self.classes if c.id != self.ignore_index]
        shift = 0 if background_id(classes) == 0 else 1  # a background-named class 0 keeps 0
        self.label_map = {c.id: i + shift for i, c in enumerate(classes)}
        self.ignore_value = max(self.label_map.values(), default=0) + 1
        self.lut = np.zeros(256, np.uint8)
        for cid, value in self.label_map.items():
            self.lut[cid] = value
        self.lut[self.ignore_index] = self.ignore_value

    def write(self, item: ExportItem) -> None:
        raw = read_image(item.image_path).raw
        planes = [raw] if raw.ndim == 2 else [raw[:, :, c] for c in range(raw.shape[2])]
        self.channels = max(self.channels, len(planes))
        sub = FOLDERS[item.split]
        for c, plane in enumerate(planes):
            self.put_bytes(f"images{sub}/{item.name}_{c:04d}.nii.gz", nifti_bytes(plane))
        self.seen_ignore |= bool((item.mask == self.ignore_index).any())
        self.put_bytes(f"labels{sub}/{item.name}.nii.gz", nifti_bytes(self.lut[item.mask]))

    def finish(self, items: list[tuple[str, str, str | None]]) -> None:
        labels = {"background": 0}
        for c in self.classes:
            if c.id in self.label_map and self.label_map[c.id] != 0:
                labels[c.name] = self.label_map[c.id]
        if self.seen_ignore:
            labels["ignore"] = self.ignore_value
        self.info.update({
            "label_map": {str(k): v for k, v in self.label_map.items()},
            "ignore_value": self.ignore_value if self.seen_ignore else None,
            "affine": AFFINE.tolist(), "layout": "nnU-Net v2 raw"})
        self.put_json("dataset.json", {
            "name": "resunet-gui export", "channel_names": _channel_names(self.channels),
            "labels": labels, "numTraining": sum(1 for _, s, _ in items if s != "test"),
            "file_ending": ".nii.gz"})
        train = [n for n, s, _ in items if s == "train"]
        val = [n for n, s, _ in items if s == "val"]
        if val:
            self.put_json("splits_final.json", [{"train": train, "val": val}])
