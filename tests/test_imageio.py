"""core.imageio: formats, EXIF orientation, 16-bit/float windows, header-only sizes, typed errors."""
from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

from resunet_gui.core import imageio
from resunet_gui.core.errors import ImageReadError
from resunet_gui.core.imageio import encode_png, image_size, read_image, read_mask


def _rgb(h: int = 24, w: int = 40) -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img[:, : w // 2] = (255, 0, 0)  # left half pure red, in RGB order
    return img


def _write(path: Path, arr: np.ndarray) -> Path:
    path.write_bytes(encode_png(arr) if path.suffix == ".png" else _encode(path.suffix, arr))
    return path


def _encode(suffix: str, arr: np.ndarray) -> bytes:
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(suffix, arr)
    assert ok
    return buf.tobytes()


def _jpeg_with_orientation(img_rgb: np.ndarray, orientation: int) -> bytes:
    """JPEG with a hand-built APP1 EXIF block holding only the orientation tag."""
    data = _encode(".jpg", img_rgb)
    tiff = (b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
            + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0))
    app1 = b"Exif\x00\x00" + tiff
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]


def test_png_rgb_keeps_channel_order_and_uint8_data(tmp_path):
    img = _rgb()
    loaded = read_image(_write(tmp_path / "a.png", img))
    assert loaded.raw.dtype == np.uint8 and loaded.channels == 3
    np.testing.assert_array_equal(loaded.raw, img)
    np.testing.assert_array_equal(loaded.display, img)
    x = loaded.model_input()
    assert x.dtype == np.float32 and x.shape == (24, 40, 3)
    np.testing.assert_allclose(x, img / 255.0, atol=1e-7)


def test_grayscale_png_gives_one_channel_raw_and_three_channel_display(tmp_path):
    gray = np.arange(24 * 40, dtype=np.uint16).reshape(24, 40).astype(np.uint8)
    loaded = read_image(_write(tmp_path / "g.png", gray))
    assert loaded.channels == 1 and loaded.raw.shape == (24, 40)
    assert loaded.display.shape == (24, 40, 3)
    assert loaded.model_input().shape == (24, 40, 1)


def test_rgba_png_drops_alpha_from_raw_and_display(tmp_path):
    rgba = np.dstack([_rgb(), np.full((24, 40), 7, np.uint8)])
    loaded = read_image(_write(tmp_path / "rgba.png", rgba))
    assert loaded.had_alpha and loaded.channels == 3
    np.testing.assert_array_equal(loaded.raw, rgba[:, :, :3])
    assert loaded.display.shape == (24, 40, 3)


def test_bmp_and_jpeg_decode_with_rgb_order(tmp_path):
    img = _rgb()
    bmp = read_image(_write(tmp_path / "b.bmp", img))
    np.testing.assert_array_equal(bmp.raw, img)
    jpg = read_image(_write(tmp_path / "c.jpg", img))
    assert jpg.raw.shape == img.shape
    assert jpg.raw[5, 3, 0] > 200 and jpg.raw[5, 3, 2] < 60  # red stays red


@pytest.mark.parametrize("orientation, rotated", [(1, False), (3, False), (6, True), (8, True)])
def test_jpeg_exif_orientation_is_applied_and_header_size_agrees(tmp_path, orientation, rotated):
    img = _rgb(24, 40)
    path = tmp_path / f"o{orientation}.jpg"
    path.write_bytes(_jpeg_with_orientation(img, orientation))
    loaded = read_image(path)
    expected = (40, 24) if rotated else (24, 40)
    assert loaded.shape == expected
    assert image_size(path) == expected
    if orientation == 6:  # rotate 90 clockwise: the red left half ends up on top
        assert loaded.raw[2, 12, 0] > 200 and loaded.raw[-3, 12, 0] < 255


def test_16bit_tiff_keeps_raw_and_scales_in_float_without_8bit_quantisation(tmp_path):
    ramp = np.linspace(1000, 5000, 64 * 64).reshape(64, 64).astype(np.uint16)
    ramp[0, 0] = 65535  # an outlier the percentile window must ignore
    path = tmp_path / "r.tif"
    tifffile.imwrite(path, ramp)
    loaded = read_image(path)
    assert loaded.raw.dtype == np.uint16
    np.testing.assert_array_equal(loaded.raw, ramp)
    assert loaded.display.dtype == np.uint8 and loaded.display.shape == (64, 64, 3)
    lo, hi = loaded.window
    assert 1000 <= lo < 1100 and 4900 < hi <= 5000
    assert loaded.display[32, 32, 0] not in (0, 255)
    x = loaded.model_input()
    assert x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    assert len(np.unique(x)) > 1000  # far more levels than 8 bits could hold


def test_16bit_png_is_read_as_uint16(tmp_path):
    arr = (np.arange(100 * 30).reshape(30, 100) * 20).astype(np.uint16)
    loaded = read_image(_write(tmp_path / "p16.png", arr))
    assert loaded.raw.dtype == np.uint16
    np.testing.assert_array_equal(loaded.raw, arr)


def test_float_tiff_with_nan_gives_finite_display_and_input(tmp_path):
    arr = np.random.default_rng(1).normal(size=(32, 32)).astype(np.float32)
    arr[3, 3] = np.nan
    path = tmp_path / "f.tif"
    tifffile.imwrite(path, arr)
    loaded = read_image(path)
    assert loaded.raw.dtype == np.float32
    x = loaded.model_input()
    assert np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1


def test_multipage_tiff_reads_first_page(tmp_path):
    path = tmp_path / "stack.tif"
    with tifffile.TiffWriter(path) as tif:
        for v in (10, 20, 30):
            tif.write(np.full((16, 20), v, np.uint8), photometric="minisblack")
    with tifffile.TiffFile(path) as tif:
        assert len(tif.pages) == 3
    loaded = read_image(path)
    assert loaded.shape == (16, 20)
    assert (loaded.raw == 10).all()
    assert image_size(path) == (16, 20)


def test_planar_rgb_tiff_is_returned_channels_last(tmp_path):
    img = _rgb(16, 20)
    path = tmp_path / "planar.tif"
    tifffile.imwrite(path, np.moveaxis(img, -1, 0), planarconfig="separate", photometric="rgb")
    np.testing.assert_array_equal(read_image(path).raw, img)


def test_lzw_tiff_written_by_opencv_is_read(tmp_path):
    img = _rgb(16, 20)
    path = _write(tmp_path / "lzw.tif", img)  # OpenCV writes LZW, which tifffile alone cannot decode
    np.testing.assert_array_equal(read_image(path).raw, img)
    assert image_size(path) == (16, 20)


def test_image_size_reads_headers_without_decoding(tmp_path, monkeypatch):
    paths = {
        "a.png": _write(tmp_path / "a.png", _rgb(13, 17)),
        "b.jpg": _write(tmp_path / "b.jpg", _rgb(13, 17)),
        "c.bmp": _write(tmp_path / "c.bmp", _rgb(13, 17)),
    }
    tifffile.imwrite(tmp_path / "d.tif", _rgb(13, 17))
    paths["d.tif"] = tmp_path / "d.tif"

    def boom(*_a, **_k):
        raise AssertionError("image_size decoded pixels")

    monkeypatch.setattr(cv2, "imdecode", boom)
    monkeypatch.setattr(tifffile.TiffPage, "asarray", boom)
    for name, path in paths.items():
        assert image_size(path) == (13, 17), name


def test_huge_image_is_rejected_from_its_header_before_decoding(tmp_path, monkeypatch):
    # A valid PNG signature + IHDR claiming 40000 x 8 pixels; nothing else.
    ihdr = struct.pack(">IIBBBBB", 40000, 8, 8, 0, 0, 0, 0)
    path = tmp_path / "huge.png"
    path.write_bytes(imageio._PNG_MAGIC + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\0" * 4)
    monkeypatch.setattr(cv2, "imdecode", lambda *a, **k: pytest.fail("decoded a huge image"))
    with pytest.raises(ImageReadError, match="30000"):
        read_image(path)
    with pytest.raises(ImageReadError, match="30000"):
        image_size(path)


def test_huge_tiff_is_rejected(tmp_path):
    path = tmp_path / "tall.tif"
    tifffile.imwrite(path, np.zeros((30001, 2), np.uint8))
    with pytest.raises(ImageReadError, match="larger than"):
        read_image(path)


@pytest.mark.parametrize("name, content, why", [
    ("empty.png", b"", "empty"),
    ("text.png", b"hello, I am not an image" * 10, "not a supported image"),
    ("trunc.png", None, "truncated"),
    ("trunc.jpg", None, "truncated"),
])
def test_bad_files_raise_image_read_error_with_message(tmp_path, name, content, why):
    path = tmp_path / name
    if content is None:
        good = _encode(Path(name).suffix, _rgb(64, 64))
        content = good[: len(good) // 2]
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=why) as err:
        read_image(path)
    assert name in str(err.value)


def test_missing_file_and_folder_raise_image_read_error(tmp_path):
    with pytest.raises(ImageReadError, match="not found"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)
    with pytest.raises(ImageReadError):
        image_size(tmp_path / "nope.png")


def test_read_mask_accepts_gray_and_identical_colour_channels(tmp_path):
    mask = np.random.default_rng(2).integers(0, 3, (20, 30), dtype=np.uint8)
    mask[0, 0] = 255
    np.testing.assert_array_equal(read_mask(_write(tmp_path / "m.png", mask)), mask)
    rgb = np.dstack([mask] * 3)
    np.testing.assert_array_equal(read_mask(_write(tmp_path / "m3.png", rgb)), mask)
    small16 = mask.astype(np.uint16)
    np.testing.assert_array_equal(read_mask(_write(tmp_path / "m16.png", small16)), mask)


def test_read_mask_rejects_colour_masks_and_wide_values(tmp_path):
    with pytest.raises(ImageReadError, match="one channel"):
        read_mask(_write(tmp_path / "colour.png", _rgb()))
    wide = np.full((8, 8), 300, np.uint16)
    with pytest.raises(ImageReadError, match="0-255"):
        read_mask(_write(tmp_path / "wide.png", wide))


def test_encode_png_round_trips_gray_and_rgb(tmp_path):
    for arr in (_rgb(), np.arange(200, dtype=np.uint8).reshape(10, 20)):
        path = tmp_path / "x.png"
        path.write_bytes(encode_png(arr))
        np.testing.assert_array_equal(read_image(path).raw, arr)


def test_palette_png_mask_reads_as_class_indices(tmp_path: Path) -> None:
    from PIL import Image

    mask = np.zeros((20, 30), np.uint8)
    mask[5:10, 5:25] = 1
    mask[12:, :4] = 255
    img = Image.fromarray(mask, mode="P")
    palette = [0, 0, 0, 255, 0, 0] + [7, 7, 7] * 253 + [255, 255, 255]
    img.putpalette(palette)
    path = tmp_path / "m.png"
    img.save(path, transparency=0)
    assert np.array_equal(read_mask(path), mask)
