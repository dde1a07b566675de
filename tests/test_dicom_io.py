"""DICOM and multi-page TIFF inputs: pydicom's own test files, listed per slice from headers."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import tifffile

from resunet_gui.core import dicom_io
from resunet_gui.core.errors import ImageReadError
from resunet_gui.core.imageio import image_size, read_image
from resunet_gui.core.project import Project
from tests.dicom_samples import bundled, copy_bundled, write_enhanced_ct

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_ct_is_read_in_hounsfield_units(tmp_path: Path) -> None:
    copy_bundled(tmp_path, "CT_small.dcm")
    with Project.open(tmp_path) as p:
        assert p.stems() == ["CT_small"]
        image = read_image(p.image_path("CT_small"))
    ds = pydicom.dcmread(bundled("CT_small.dcm"))
    expected = ds.pixel_array.astype(np.int32) * int(ds.RescaleSlope) + int(ds.RescaleIntercept)
    assert image.raw.dtype == np.int16
    np.testing.assert_array_equal(image.raw, expected)
    assert image.extra["units"] == "HU" and image.raw.min() < 0


def test_header_window_is_the_initial_display_window(tmp_path: Path) -> None:
    (mr,) = copy_bundled(tmp_path, "MR_small.dcm")
    image = read_image(mr)  # a plain .dcm path works too (frame 0)
    assert image.window == (600 - 800, 600 + 800)  # WindowCenter 600, WindowWidth 1600
    lo, hi = image.window
    inside = (image.raw > lo) & (image.raw < hi)
    expected = ((image.raw[inside] - lo) * 255.0 / (hi - lo)).astype(np.uint8)
    np.testing.assert_array_equal(image.display[:, :, 0][inside], expected)


def test_monochrome1_is_shown_inverted(tmp_path: Path) -> None:
    (mr,) = copy_bundled(tmp_path, "MR_small.dcm")
    ds = pydicom.dcmread(mr)
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.save_as(tmp_path / "mono1.dcm")
    normal, inverted = read_image(mr), read_image(tmp_path / "mono1.dcm")
    np.testing.assert_array_equal(inverted.raw, normal.raw)
    np.testing.assert_array_equal(inverted.display, 255 - normal.display)
    np.testing.assert_allclose(inverted.model_input(), 1.0 - normal.model_input(), atol=1e-6)


@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
                                  "MR_small_jpeg_ls_lossless.dcm"])
def test_compressed_transfer_syntaxes_decode_through_plugins(tmp_path: Path, name: str) -> None:
    plain, packed = copy_bundled(tmp_path, "MR_small.dcm", name)
    assert pydicom.dcmread(packed).file_meta.TransferSyntaxUID.is_compressed
    np.testing.assert_array_equal(read_image(packed).raw, read_image(plain).raw)


def test_missing_decoder_plugin_is_named_in_the_error(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from pydicom.pixels import get_decoder

    (packed,) = copy_bundled(tmp_path, "MR_small_jp2klossless.dcm")
    decoder = get_decoder(pydicom.dcmread(packed).file_meta.TransferSyntaxUID)
    monkeypatch.setattr(decoder, "_available", {})
    monkeypatch.setattr(decoder, "_unavailable",
                        {"pylibjpeg": ("pylibjpeg>=2.0", "pylibjpeg-openjpeg>=2.0")})
    with pytest.raises(ImageReadError) as err:
        read_image(packed)
    message = str(err.value)
    assert "JPEG 2000" in message and "pylibjpeg-openjpeg" in message and "not installed" in message


def test_multiframe_lists_one_image_per_frame_from_the_header(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_enhanced_ct(tmp_path / "ct_multiframe.dcm", frames=3)
    copy_bundled(tmp_path, "CT_small.dcm")

    def no_decoding(*_a: object, **_k: object) -> None:
        raise AssertionError("listing decoded pixel data")

    monkeypatch.setattr(dicom_io, "read_frame", no_decoding)
    with Project.open(tmp_path) as p:
        assert p.stems() == ["ct_multiframe_z0000", "ct_multiframe_z0001",
                             "ct_multiframe_z0002", "CT_small"]  # natural order ignores case
        assert p.image_size("ct_multiframe_z0002") == (128, 128)
        ct_path = p.image_path("CT_small")
        paths = [p.image_path(s) for s in p.stems() if s != "CT_small"]
    monkeypatch.undo()
    ct = read_image(ct_path).raw
    for path in paths:  # the three frames are copies of CT_small, rescaled the same way
        frame = read_image(path)
        np.testing.assert_array_equal(frame.raw, ct)
        assert frame.window == (40 - 200, 40 + 200)  # from the frames' VOI LUT functional group


def test_each_slice_has_its_own_mask_file(tmp_path: Path) -> None:
    write_enhanced_ct(tmp_path / "ct.dcm", frames=2)
    with Project.open(tmp_path) as p:
        mask = np.zeros(p.image_size("ct_z0001"), np.uint8)
        mask[3:9, 4:7] = 1
        p.save_mask("ct_z0001", mask)
    with Project.open(tmp_path) as p:
        assert (tmp_path / "masks" / "ct_z0001.png").is_file()
        np.testing.assert_array_equal(p.read_mask("ct_z0001"), mask)
        assert p.read_mask("ct_z0000") is None


def test_multipage_compressed_tiff_is_a_stack_of_slices(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pages = rng.integers(0, 4000, size=(4, 24, 32), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "cells.tif", pages, compression="lzw", photometric="minisblack")
    tifffile.imwrite(tmp_path / "flat.tif", pages[0], compression="zlib")
    with Project.open(tmp_path) as p:
        assert p.stems() == ["cells_z0000", "cells_z0001", "cells_z0002", "cells_z0003", "flat"]
        assert image_size(p.image_path("cells_z0002")) == (24, 32)
        for i in range(4):
            np.testing.assert_array_equal(read_image(p.image_path(f"cells_z{i:04d}")).raw, pages[i])
        np.testing.assert_array_equal(read_image(p.image_path("flat")).raw, pages[0])


def test_dicom_without_an_image_is_skipped_with_a_warning(tmp_path: Path) -> None:
    copy_bundled(tmp_path, "liver_1frame.dcm", "CT_small.dcm")  # liver_1frame is a SEG object
    with Project.open(tmp_path) as p:
        assert p.stems() == ["CT_small"]
        assert any("liver_1frame.dcm" in w and "no image" in w for w in p.warnings)


def test_extensionless_dicom_is_found_by_its_preamble(tmp_path: Path) -> None:
    shutil.copy(bundled("MR_small.dcm"), tmp_path / "IM000001")
    shutil.copy(bundled("CT_small.dcm"), tmp_path / "1.3.6.1.4.1.5962.1")
    (tmp_path / "notes").write_text("not an image")
    with Project.open(tmp_path) as p:
        assert p.stems() == ["1.3.6.1.4.1.5962.1", "IM000001"]
        assert read_image(p.image_path("IM000001")).raw.shape == (64, 64)


def test_truncated_dicom_gives_a_readable_error(tmp_path: Path) -> None:
    data = bundled("CT_small.dcm").read_bytes()
    (tmp_path / "cut.dcm").write_bytes(data[: len(data) // 2])
    with Project.open(tmp_path) as p, pytest.raises(ImageReadError, match="cut.dcm"):
        read_image(p.image_path(p.stems()[0]))


def test_eight_bit_monochrome1_is_inverted_for_the_model_too(tmp_path: Path) -> None:
    (mr,) = copy_bundled(tmp_path, "MR_small.dcm")
    ds = pydicom.dcmread(mr)
    pixels = (ds.pixel_array // 16).clip(0, 255).astype(np.uint8)
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.PixelData = pixels.tobytes()
    for name in ("WindowCenter", "WindowWidth", "SmallestImagePixelValue", "LargestImagePixelValue"):
        if name in ds:
            delattr(ds, name)
    ds.save_as(tmp_path / "mono2.dcm")
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.save_as(tmp_path / "mono1.dcm")
    normal, inverted = read_image(tmp_path / "mono2.dcm"), read_image(tmp_path / "mono1.dcm")
    assert normal.raw.dtype == np.uint8 and normal.window is None
    np.testing.assert_array_equal(inverted.display, 255 - normal.display)
    np.testing.assert_allclose(inverted.model_input(), 1.0 - normal.model_input(), atol=1e-6)


def test_single_frame_classes_are_listed_from_the_file_meta_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(3):
        shutil.copy(bundled("CT_small.dcm"), tmp_path / f"ct_{i}.dcm")

    def no_header_parse(*_a: object, **_k: object) -> None:
        raise AssertionError("a CT Image Storage file cannot hold several frames")

    monkeypatch.setattr(dicom_io, "read_info", no_header_parse)
    with Project.open(tmp_path) as p:
        assert p.stems() == ["ct_0", "ct_1", "ct_2"]


def test_header_claiming_a_billion_frames_lists_once_and_fails_readably(tmp_path: Path) -> None:
    (mr,) = copy_bundled(tmp_path, "MR_small.dcm")
    ds = pydicom.dcmread(mr)
    ds.NumberOfFrames = 10**9
    ds.save_as(mr)
    with Project.open(tmp_path) as p:
        assert p.stems() == ["MR_small"]
        with pytest.raises(ImageReadError, match="claims 1000000000 frames"):
            read_image(p.image_path("MR_small"))
