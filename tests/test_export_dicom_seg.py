"""DICOM SEG export read back with highdicom; slices exported as their own 2D images."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
import tifffile

from resunet_gui.core.errors import ExportError
from resunet_gui.core.imageio import read_image, read_mask
from resunet_gui.core.project import Project
from resunet_gui.core.types import ClassSpec
from resunet_gui.export import ExportOptions, export_project
from tests.dicom_samples import copy_bundled, write_enhanced_ct

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
CLASSES = [ClassSpec(0, "background", (0, 0, 0)), ClassSpec(1, "liver", (255, 0, 0)),
           ClassSpec(2, "tumour", (0, 255, 0))]


def _annotate(folder: Path) -> dict[str, np.ndarray]:
    """Two classes plus an ignore patch on every image; returns the masks by stem."""
    masks = {}
    with Project.open(folder) as p:
        p.set_classes(CLASSES)
        for k, stem in enumerate(p.stems()):
            mask = np.zeros(p.image_size(stem), np.uint8)
            mask[4 + k:20 + k, 6:30] = 1
            mask[30:40, 10 + 2 * k:16 + 2 * k] = 2
            mask[0:3, 0:3] = 255
            p.save_mask(stem, mask)
            p.set_status(stem, "done")
            masks[stem] = mask
    return masks


def _dicom_project(folder: Path) -> Path:
    copy_bundled(folder, "CT_small.dcm", "MR_small.dcm")
    write_enhanced_ct(folder / "ct_multiframe.dcm", frames=3)
    return folder


def _labels(seg: object, **query: object) -> np.ndarray:
    """Class ids (segment numbers map 1:1 onto liver=1, tumour=2 here) per source frame."""
    if "source_frame_numbers" in query:
        return seg.get_pixels_by_source_frame(combine_segments=True, **query)  # type: ignore[attr-defined]
    return seg.get_pixels_by_source_instance(combine_segments=True, **query)  # type: ignore[attr-defined]


def test_dicom_seg_reads_back_with_highdicom_onto_the_source_instances(tmp_path: Path) -> None:
    import highdicom as hd

    masks = _annotate(_dicom_project(tmp_path / "p"))
    with Project.open(tmp_path / "p") as p:
        export_project(p, "dicom_seg", tmp_path / "out", ExportOptions(split=None))
    files = sorted(p.name for p in (tmp_path / "out" / "seg").iterdir())
    assert files == ["CT_small_seg.dcm", "MR_small_seg.dcm", "ct_multiframe_seg.dcm"]
    for name in ("CT_small", "MR_small"):
        seg = hd.seg.segread(tmp_path / "out" / "seg" / f"{name}_seg.dcm")
        source = pydicom.dcmread(tmp_path / "p" / f"{name}.dcm")
        assert [d.SegmentLabel for d in seg.SegmentSequence] == ["liver", "tumour"]
        got = _labels(seg, source_sop_instance_uids=[source.SOPInstanceUID])[0]
        want = np.where(masks[name] == 255, 0, masks[name])  # ignore belongs to no segment
        np.testing.assert_array_equal(got, want)
    seg = hd.seg.segread(tmp_path / "out" / "seg" / "ct_multiframe_seg.dcm")
    source = pydicom.dcmread(tmp_path / "p" / "ct_multiframe.dcm")
    got = _labels(seg, source_sop_instance_uid=source.SOPInstanceUID,
                  source_frame_numbers=[1, 2, 3])
    for i in range(3):
        want = masks[f"ct_multiframe_z{i:04d}"]
        np.testing.assert_array_equal(got[i], np.where(want == 255, 0, want))


def test_png_export_writes_each_slice_as_its_own_image(tmp_path: Path) -> None:
    masks = _annotate(_dicom_project(tmp_path / "p"))
    with Project.open(tmp_path / "p") as p:
        export_project(p, "png", tmp_path / "out", ExportOptions(split=None))
        raws = {s: read_image(p.image_path(s)).raw for s in p.stems()}
    out = tmp_path / "out"
    for stem in ("CT_small", "ct_multiframe_z0000", "ct_multiframe_z0002"):
        np.testing.assert_array_equal(tifffile.imread(out / "images" / f"{stem}.tif"), raws[stem])
        np.testing.assert_array_equal(read_mask(out / "masks" / f"{stem}.png"), masks[stem])
    assert tifffile.imread(out / "images" / "CT_small.tif").min() < 0  # Hounsfield units kept


def test_dicom_seg_refuses_images_that_are_not_dicom(tmp_path: Path) -> None:
    copy_bundled(tmp_path / "p", "CT_small.dcm")
    tifffile.imwrite(tmp_path / "p" / "plain.tif", np.zeros((16, 16), np.uint16))
    _annotate(tmp_path / "p")
    with Project.open(tmp_path / "p") as p, pytest.raises(ExportError, match="plain.*DICOM"):
        export_project(p, "dicom_seg", tmp_path / "out", ExportOptions(split=None))
    assert not (tmp_path / "out").exists()


def test_cli_exports_dicom_seg_and_explains_cine_without_geometry(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    import highdicom as hd

    from resunet_gui.cli import main

    copy_bundled(tmp_path / "p", "CT_small.dcm")
    masks = _annotate(tmp_path / "p")
    assert main(["export", str(tmp_path / "p"), "--format", "dicom_seg", "--out",
                 str(tmp_path / "out")]) == 0
    seg = hd.seg.segread(tmp_path / "out" / "seg" / "CT_small_seg.dcm")
    uid = pydicom.dcmread(tmp_path / "p" / "CT_small.dcm").SOPInstanceUID
    got = seg.get_pixels_by_source_instance([uid], combine_segments=True)[0]
    np.testing.assert_array_equal(got, np.where(masks["CT_small"] == 255, 0, masks["CT_small"]))
    copy_bundled(tmp_path / "cine", "examples_ybr_color.dcm")  # ultrasound cine: no geometry
    _annotate(tmp_path / "cine")
    assert main(["export", str(tmp_path / "cine"), "--format", "dicom_seg", "--out",
                 str(tmp_path / "out2")]) == 1
    err = capsys.readouterr().err
    assert "examples_ybr_color.dcm" in err and "frame of reference" in err
