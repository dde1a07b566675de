"""NIfTI (``.nii.gz``, nibabel) in an nnU-Net-like layout for medical users.

``images/<split>/<name>_<CCCC>.nii.gz`` holds one file per channel in the image's own dtype
(nnU-Net's convention), ``labels/<split>/<name>.nii.gz`` the uint8 mask. Arrays are stored
as ``[x, y, 0]`` = ``pixel[y, x]`` (the ITK/nnU-Net orientation of 2D slices) with an
identity affine, so ``np.asarray(img.dataobj)[:, :, 0].T`` gives the mask back exactly.
255 stays 255 (listed as "ignore" in dataset.json).
"""
from __future__ import annotations

import gzip
import io

import nibabel as nib
import numpy as np

from resunet_gui.core.imageio import read_image

from .base import SPLITS, ExportItem, Writer
from .registry import register


def nifti_bytes(plane: np.ndarray) -> bytes:
    """Gzipped NIfTI-1 bytes of an HxW plane, stored as x, y, z=1; gzip mtime 0 (reproducible)."""
    img = nib.Nifti1Image(np.ascontiguousarray(plane.T)[:, :, None], np.eye(4))
    img.header.set_xyzt_units("mm")
    raw = img.to_bytes()
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=6, mtime=0) as gz:
        gz.write(raw)
    return buf.getvalue()


def read_nifti_plane(path) -> np.ndarray:
    """HxW array back from a file written by ``nifti_bytes``."""
    return np.asarray(nib.load(str(path)).dataobj)[:, :, 0].T


@register
class NiftiWriter(Writer):
    name = "nifti"
    description = "NIfTI .nii.gz per image and mask (nnU-Net-like layout, exact)"
    ignore_note = "255 stays 255 in the label volumes (dataset.json labels: ignore 255)"

    def begin(self) -> None:
        self.channels = 0

    def write(self, item: ExportItem) -> None:
        raw = read_image(item.image_path).raw
        planes = [raw] if raw.ndim == 2 else [raw[:, :, c] for c in range(raw.shape[2])]
        self.channels = max(self.channels, len(planes))
        for c, plane in enumerate(planes):
            self.put_bytes(f"images/{item.split}/{item.name}_{c:04d}.nii.gz", nifti_bytes(plane))
        self.put_bytes(f"labels/{item.split}/{item.name}.nii.gz", nifti_bytes(item.mask))

    def finish(self, items: list[tuple[str, str, str | None]]) -> None:
        labels = {c.name: c.id for c in self.classes}
        labels["ignore"] = self.ignore_index
        self.put_json("dataset.json", {
            "channel_names": {str(c): ("gray" if self.channels == 1 else "rgb"[c] if c < 3 else f"c{c}")
                              for c in range(self.channels)},
            "labels": labels,
            "numTraining": sum(1 for _, s, _ in items if s != "test"),
            "file_ending": ".nii.gz",
            "splits": {s: [n for n, sp, _ in items if sp == s] for s in SPLITS},
        })
