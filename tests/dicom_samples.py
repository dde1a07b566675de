"""Real DICOM test files bundled with pydicom, copied into a test folder.

The multi-frame file is a Legacy Converted Enhanced CT that highdicom builds from three
copies of pydicom's CT_small.dcm (its bundled multi-frame files are ultrasound cine or RT
dose, which have no per-frame geometry that a SEG could reference).
"""
from __future__ import annotations

import copy
import shutil
import warnings
from pathlib import Path

BUNDLED = ("CT_small.dcm", "MR_small.dcm")


def bundled(name: str) -> Path:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    assert path is not None, f"{name} is not bundled with this pydicom"
    return Path(path)


def copy_bundled(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(bundled(n), folder / n)) for n in names]


def write_enhanced_ct(path: Path, frames: int = 3) -> Path:
    """A multi-frame CT (per-frame positions 5 mm apart, soft-tissue window) from copies of
    CT_small.dcm."""
    import highdicom as hd
    import pydicom

    ct = pydicom.dcmread(bundled("CT_small.dcm"))
    series_uid = hd.UID()
    slices = []
    for i in range(frames):
        ds = copy.deepcopy(ct)
        ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.InstanceNumber = hd.UID(), series_uid, i + 1
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
        ds.ImagePositionPatient = [x, y, z + 5.0 * i]
        ds.WindowCenter, ds.WindowWidth = 40, 400  # becomes the frames' VOI LUT functional group
        slices.append(ds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = hd.legacy.LegacyConvertedEnhancedCTImage(
            slices, series_instance_uid=hd.UID(), series_number=5, sop_instance_uid=hd.UID(),
            instance_number=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save_as(path)
    return path
