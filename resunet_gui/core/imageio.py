"""Read images and masks into numpy without ever leaking a decoder exception.

Every failure a user can cause (missing, empty, truncated, corrupt, not an image, too large)
becomes an ``ImageReadError`` whose message names the file. Header-only ``image_size`` lets a
project list 10,000 images without decoding any of them.
"""
from __future__ import annotations

import io
import os
import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import tifffile

from resunet_gui.core import dicom_io, stacks
from resunet_gui.core.errors import ImageReadError
from resunet_gui.core.png_palette import is_palette_png, palette_as_gray

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm", ".dicom")
MAX_SIDE = 30000
# pixel budget for one decoded image; 150 MP of RGB is 450 MB as uint8 (1.8 GB as float):
# well under a workstation's memory. Raise it with RESUNET_MAX_MEGAPIXELS=<number>.
DEFAULT_MAX_MEGAPIXELS = 150.0
MAX_MEGAPIXELS_ENV = "RESUNET_MAX_MEGAPIXELS"
PERCENTILE_WINDOW = (0.5, 99.5)
_WINDOW_SAMPLES = 1 << 20  # percentiles on at most ~1M values: fast on any image size

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
# JPEG start-of-frame markers (baseline, progressive, lossless...), not DHT/JPG/DAC
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@dataclass
class LoadedImage:
    """A decoded image: ``raw`` keeps the file's data, ``display`` is what a screen shows.

    ``raw`` is HxW (grayscale) or HxWx3 (RGB) in the file's dtype, alpha removed;
    ``window`` is the (low, high) intensity range that maps to [0, 1] (None for uint8).
    """

    path: Path
    raw: np.ndarray
    display: np.ndarray
    dtype: np.dtype
    channels: int
    window: tuple[float, float] | None = None
    had_alpha: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.raw.shape[0]), int(self.raw.shape[1])

    def model_input(self) -> np.ndarray:
        """float32 HxWxC in [0, 1]; 16-bit/float scaled in float (no 8-bit quantisation).

        Computed in place: one float copy of the image, no temporaries of the same size.
        NaN and +/-Inf pixels (float TIFFs) become 0, the same black they show as on screen.
        """
        raw = self.raw if self.raw.ndim == 3 else self.raw[:, :, None]
        out = raw.astype(np.float32)
        if raw.dtype == np.uint8:
            out *= np.float32(1.0 / 255.0)
        else:
            lo, hi = self.window if self.window is not None else (0.0, 1.0)
            out -= np.float32(lo)
            out *= np.float32(1.0 / (hi - lo) if hi > lo else 0.0)
            np.clip(out, 0.0, 1.0, out=out)
            out = zero_non_finite(raw, out)
        if self.extra.get("invert"):  # MONOCHROME1: the model sees what the screen shows
            np.subtract(1.0, out, out=out)
        return out

    def model_array(self) -> np.ndarray:
        """What to hand ``Predictor.predict``: the 8-bit pixels themselves (it scales them
        tile by tile, so a huge image is never copied whole as float), else ``model_input()``."""
        if self.raw.dtype == np.uint8 and not self.extra.get("invert"):
            return self.raw
        return self.model_input()


def zero_non_finite(raw: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out`` with 0 wherever ``raw`` is NaN or +/-Inf (float data only; others unchanged)."""
    if raw.dtype.kind == "f":
        bad = ~np.isfinite(raw)
        if bad.any():
            out[bad] = 0
    return out


def finite_range(raw: np.ndarray) -> tuple[float, float] | None:
    """(min, max) over the finite values, None when there are none (all NaN/Inf)."""
    if not raw.size:
        return None
    lo, hi = float(raw.min()), float(raw.max())
    if np.isfinite(lo) and np.isfinite(hi):
        return lo, hi  # the usual case: no copy
    finite = raw[np.isfinite(raw)]
    return (float(finite.min()), float(finite.max())) if finite.size else None


def _fail(path: Path, why: str) -> ImageReadError:
    return ImageReadError(f"cannot read image {path.name}: {why}")


def _open_regular(path: Path) -> io.BufferedReader:
    """Open for reading without blocking on a FIFO/device; refuse anything not a regular file."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise _fail(path, "it is a folder, not a file")
        if not stat.S_ISREG(mode):
            raise _fail(path, "it is not a regular file (a pipe, device or socket)")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _read_head(path: Path, n: int = 65536) -> bytes:
    try:
        with _open_regular(path) as fh:
            return fh.read(n)
    except FileNotFoundError:
        raise _fail(path, "file not found") from None
    except IsADirectoryError:
        raise _fail(path, "it is a folder, not a file") from None
    except PermissionError:
        raise _fail(path, "permission denied") from None
    except OSError as exc:
        raise _fail(path, exc.strerror or str(exc)) from None


def _kind(head: bytes) -> str | None:
    if head.startswith(_PNG_MAGIC):
        return "png"
    if head.startswith(_JPEG_MAGIC):
        return "jpeg"
    if head.startswith(b"BM"):
        return "bmp"
    if head[:4] in _TIFF_MAGICS and not dicom_io.has_magic(head):  # some preambles say TIFF
        return "tiff"
    if dicom_io.has_magic(head):
        return "dicom"
    return None


def _jpeg_orientation(app1: bytes) -> int:
    """EXIF orientation (1-8) from an APP1 payload, 1 when absent or unreadable."""
    if not app1.startswith(b"Exif\x00\x00") or len(app1) < 14:
        return 1
    t = app1[6:]
    end = "<" if t[:2] == b"II" else ">" if t[:2] == b"MM" else None
    if end is None:
        return 1
    try:
        (ifd,) = struct.unpack(end + "I", t[4:8])
        (count,) = struct.unpack(end + "H", t[ifd:ifd + 2])
        for i in range(count):
            off = ifd + 2 + 12 * i
            tag, typ, _n = struct.unpack(end + "HHI", t[off:off + 8])
            if tag == 0x0112 and typ == 3:
                (value,) = struct.unpack(end + "H", t[off + 8:off + 10])
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


def _jpeg_header(path: Path, head: bytes) -> tuple[int, int, int]:
    """(height, width, sos_offset) with EXIF orientation 5-8 swapping the sides."""
    pos, orientation = 2, 1
    size: tuple[int, int] | None = None
    while pos + 4 <= len(head):
        if head[pos] != 0xFF:
            raise _fail(path, "corrupt JPEG header")
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", head[pos + 2:pos + 4])
        if length < 2:
            raise _fail(path, "corrupt JPEG header")
        seg = head[pos + 4:pos + 2 + length]
        if marker == 0xE1 and orientation == 1:
            orientation = _jpeg_orientation(seg)
        elif marker in _SOF_MARKERS and len(seg) >= 5:
            h, w = struct.unpack(">HH", seg[1:5])
            size = (h, w)
        elif marker == 0xDA:
            if size is None:
                break
            h, w = size
            if orientation >= 5:
                h, w = w, h
            return h, w, pos
        pos += 2 + length
    raise _fail(path, "JPEG header is truncated or has no image frame")


def _header_size(path: Path, head: bytes, kind: str) -> tuple[int, int]:
    if kind == "png":
        if len(head) < 24 or head[12:16] != b"IHDR":
            raise _fail(path, "PNG header is truncated")
        w, h = struct.unpack(">II", head[16:24])
        return h, w
    if kind == "jpeg":
        try:
            h, w, _ = _jpeg_header(path, head)
        except ImageReadError:
            if len(head) < 65536:
                raise
            h, w, _ = _jpeg_header(path, _read_head(path, 1 << 22))  # huge EXIF/ICC blocks
        return h, w
    if kind == "bmp":
        if len(head) < 26:
            raise _fail(path, "BMP header is truncated")
        (dib,) = struct.unpack("<I", head[14:18])
        if dib == 12:
            w, h = struct.unpack("<HH", head[18:22])
        else:
            w, h = struct.unpack("<ii", head[18:26])
        return abs(h), abs(w)
    if kind == "dicom":
        info = dicom_io.read_info(path)
        return info.rows, info.columns
    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            return int(page.imagelength), int(page.imagewidth)
    except Exception as exc:  # tifffile raises many types on corrupt input
        raise _fail(path, f"corrupt TIFF ({type(exc).__name__})") from None


def max_megapixels() -> float:
    """The pixel budget for decoding one image (``RESUNET_MAX_MEGAPIXELS`` overrides it)."""
    try:
        value = float(os.environ.get(MAX_MEGAPIXELS_ENV, DEFAULT_MAX_MEGAPIXELS))
    except ValueError:
        return DEFAULT_MAX_MEGAPIXELS
    return value if value > 0 else DEFAULT_MAX_MEGAPIXELS


def _check_size(path: Path, h: int, w: int) -> tuple[int, int]:
    if h <= 0 or w <= 0:
        raise _fail(path, f"invalid size {w}x{h}")
    if h > MAX_SIDE or w > MAX_SIDE:
        raise _fail(path, f"{w}x{h} pixels is larger than the {MAX_SIDE}-pixel limit")
    budget = max_megapixels()
    if h * w > budget * 1e6:
        raise _fail(path, f"{w}x{h} is {h * w / 1e6:.0f} megapixels, over the {budget:g}-megapixel "
                          f"limit for one image (set {MAX_MEGAPIXELS_ENV} to raise it)")
    return h, w


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) from the file header only; raises ImageReadError for bad files."""
    path = Path(path)
    sliced = stacks.split_slice_path(path)
    if sliced is not None:
        return _check_size(path, *_slice_size(*sliced))
    head = _read_head(path)
    if not head:
        raise _fail(path, "file is empty")
    kind = _kind(head)
    if kind is None:
        return _check_size(path, *_decode(path, head + _read_rest(path, len(head)), None).shape[:2])
    return _check_size(path, *_header_size(path, head, kind))


def _read_rest(path: Path, skip: int) -> bytes:
    try:
        with _open_regular(path) as fh:
            fh.seek(skip)
            return fh.read()
    except OSError as exc:
        raise _fail(path, exc.strerror or str(exc)) from None


def _decode_tiff(path: Path) -> np.ndarray:
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        arr = page.asarray()
        planar = getattr(page, "planarconfig", None) == 2
        samples = int(getattr(page, "samplesperpixel", 1) or 1)
    arr = np.asarray(arr)
    if arr.ndim == 3 and planar and arr.shape[0] in (1, 2, 3, 4, samples):
        arr = np.moveaxis(arr, 0, -1)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    return np.ascontiguousarray(arr)


def _check_png_chunks(path: Path, data: bytes) -> None:
    """Walk the chunk list: a length past the end means truncation/corruption (libpng can
    spend seconds on a chunk claiming gigabytes)."""
    pos = len(_PNG_MAGIC)
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        if pos + 12 + length > len(data):
            break
        if data[pos + 4:pos + 8] == b"IEND":
            return
        pos += 12 + length
    raise _fail(path, "PNG file is truncated or corrupt")


def _decode(path: Path, data: bytes, kind: str | None) -> np.ndarray:
    """Decoded array in RGB(A)/gray order; ImageReadError on any failure."""
    if kind == "png":
        _check_png_chunks(path, data)
    if kind == "jpeg":
        _, _, sos = _jpeg_header(path, data)
        if data.find(b"\xff\xd9", sos) < 0:
            raise _fail(path, "JPEG file is truncated")
    arr: np.ndarray | None = None
    if kind == "tiff":
        try:
            arr = _decode_tiff(path)
        except MemoryError:
            raise
        except Exception as exc:  # tifffile raises many types on corrupt input
            if "imagecodecs" not in str(exc) and not isinstance(exc, ImportError):
                raise _fail(path, f"corrupt TIFF ({type(exc).__name__})") from None
            arr = None  # a codec tifffile lacks without imagecodecs (LZW, JPEG): try libtiff
    if arr is None:
        flags = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR if kind == "jpeg" else cv2.IMREAD_UNCHANGED
        try:
            arr = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
        except cv2.error as exc:
            raise _fail(path, f"decoder error ({str(exc).strip().splitlines()[-1][:80]})") from None
        if arr is None:
            raise _fail(path, "not a supported image or the file is corrupt")
        if arr.ndim == 3 and arr.shape[2] == 3:
            arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
        elif arr.ndim == 3 and arr.shape[2] == 4:
            arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)
    return arr


def _to_channels(path: Path, arr: np.ndarray) -> tuple[np.ndarray, bool]:
    """Grayscale HxW or RGB HxWx3; the second value says whether alpha was dropped."""
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        return arr, False
    if arr.ndim != 3:
        raise _fail(path, f"unsupported array shape {arr.shape}")
    c = arr.shape[2]
    if c == 2:  # gray + alpha
        return np.ascontiguousarray(arr[:, :, 0]), True
    if c == 3:
        return arr, False
    if c == 4:
        return np.ascontiguousarray(arr[:, :, :3]), True
    raise _fail(path, f"{c} channels per pixel; expected 1 (gray), 3 (RGB) or 4 (RGBA)")


def percentile_window(raw: np.ndarray) -> tuple[float, float]:
    """Robust (low, high) intensity window over finite values, on a strided subsample."""
    flat = raw.reshape(-1)
    step = max(1, flat.size // _WINDOW_SAMPLES)
    sample = flat[::step].astype(np.float64)
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(sample, PERCENTILE_WINDOW)
    if hi <= lo:
        lo, hi = float(sample.min()), float(sample.max())
    if hi <= lo:
        hi = lo + 1.0
    return float(lo), float(hi)


def display_through_window(raw: np.ndarray, window: tuple[float, float] | None, *,
                           invert: bool = False) -> np.ndarray:
    """uint8 HxWx3 view of ``raw`` through ``window`` (None: ``raw`` is 8-bit already).

    The one display mapping for opening an image and for window/level changes: NaN/Inf
    pixels show black, MONOCHROME1 (``invert``) shows inverted.
    """
    if window is None:
        disp = raw
    else:
        lo, hi = window
        f = (raw.astype(np.float32) - np.float32(lo)) * np.float32(255.0 / max(hi - lo, 1e-6))
        np.clip(f, 0, 255, out=f)
        disp = zero_non_finite(raw, f).astype(np.uint8)
    if invert:
        disp = np.subtract(np.uint8(255), disp)  # a new array: never the caller's pixels
    if disp.ndim == 2:
        return cv2.cvtColor(disp, cv2.COLOR_GRAY2RGB)  # ~6x faster than np.repeat at 2048²
    return np.ascontiguousarray(disp)


def _read_checked(path: Path) -> tuple[bytes, str | None]:
    """The file's bytes and kind, after the header-only size check (before any decoding)."""
    head = _read_head(path)
    if not head:
        raise _fail(path, "file is empty")
    kind = _kind(head)
    if kind is not None:
        _check_size(path, *_header_size(path, head, kind))
    data = head if len(head) < 65536 else head + _read_rest(path, len(head))
    return data, kind


def read_image(path: str | Path) -> LoadedImage:
    """Decode PNG/JPEG/BMP/TIFF (first page)/DICOM (first frame) or one slice of a stack
    (a ``stacks`` slice path), applying JPEG EXIF orientation."""
    path = Path(path)
    sliced = stacks.split_slice_path(path)
    if sliced is not None:
        return _read_slice(path, *sliced)
    data, kind = _read_checked(path)
    if kind == "dicom":
        return _read_slice(path, path, 0)
    try:
        arr = _decode(path, data, kind)
    except MemoryError:
        raise _fail(path, "not enough memory to decode it") from None
    _check_size(path, int(arr.shape[0]), int(arr.shape[1]) if arr.ndim > 1 else 0)
    raw, had_alpha = _to_channels(path, arr)
    if raw.dtype.kind not in "uif":
        raise _fail(path, f"unsupported pixel type {raw.dtype}")
    window = None if raw.dtype == np.uint8 else percentile_window(raw)
    return LoadedImage(path=path, raw=raw, display=display_through_window(raw, window), dtype=raw.dtype,
                       channels=1 if raw.ndim == 2 else 3, window=window, had_alpha=had_alpha)


def _slice_size(file: Path, index: int) -> tuple[int, int]:
    if stacks.is_dicom_file(file):
        info = dicom_io.read_info(file)
        if not 0 <= index < info.frames:
            raise _fail(file, f"it has {info.frames} frame(s); frame {index + 1} does not exist")
        return info.rows, info.columns
    return stacks.tiff_slice_size(file, index)


def _read_slice(path: Path, file: Path, index: int) -> LoadedImage:
    """One DICOM frame (modality units, header window, MONOCHROME1 inverted) or TIFF page."""
    _check_size(path, *_slice_size(file, index))
    extra: dict[str, Any] = {"stack_file": file, "slice": index}
    window = None
    if stacks.is_dicom_file(file):
        arr, info = dicom_io.read_frame(file, index)
        window = info.window
        extra.update(invert=info.invert, units=info.units, modality=info.modality)
    else:
        arr = stacks.read_tiff_slice(file, index)
    raw, had_alpha = _to_channels(path, arr)
    if raw.dtype.kind not in "uif":
        raise _fail(path, f"unsupported pixel type {raw.dtype}")
    if raw.dtype == np.uint8:
        window = None
    elif window is None:
        window = percentile_window(raw)
    display = display_through_window(raw, window, invert=bool(extra.get("invert")))
    return LoadedImage(path=path, raw=raw, display=display, dtype=raw.dtype,
                       channels=1 if raw.ndim == 2 else 3, window=window, had_alpha=had_alpha,
                       extra=extra)


def read_mask(path: str | Path) -> np.ndarray:
    """uint8 HxW class-index mask; a 3/4-channel file is accepted only if its colour channels agree."""
    path = Path(path)
    data, kind = _read_checked(path)
    if kind == "png" and is_palette_png(data):
        _check_png_chunks(path, data)
        data = palette_as_gray(data)
    arr = _decode(path, data, kind)
    if arr.ndim == 3:
        if arr.shape[2] == 1:
            arr = arr[:, :, 0]
        elif arr.shape[2] in (3, 4) and np.array_equal(arr[:, :, 0], arr[:, :, 1]) \
                and np.array_equal(arr[:, :, 0], arr[:, :, 2]):
            arr = np.ascontiguousarray(arr[:, :, 0])
        else:
            raise _fail(path, "a mask must be one channel of class indices, not a colour image")
    if arr.ndim != 2:
        raise _fail(path, f"unsupported mask shape {arr.shape}")
    if arr.dtype != np.uint8:
        if arr.dtype.kind in "ui" and arr.size and arr.min() >= 0 and arr.max() <= 255:
            arr = arr.astype(np.uint8)
        else:
            raise _fail(path, f"a mask must hold class indices 0-255, found {arr.dtype} values")
    return arr


def encode_png(array: np.ndarray, compression: int = 3) -> bytes:
    """PNG bytes of a uint8/uint16 gray or RGB(A) array (RGB order in, as everywhere here)."""
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(arr), [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise ValueError(f"cannot encode array of shape {array.shape} and dtype {array.dtype} as PNG")
    return buf.tobytes()
