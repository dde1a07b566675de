"""DICOM images through pydicom: header-only facts for listing, one frame at a time for display.

Pixel values come out in the modality's units (rescale slope/intercept applied, so CT is in
Hounsfield units); the header's first window centre/width becomes the initial display window
and MONOCHROME1 (white = low) is flagged so the display can invert it. Compressed transfer
syntaxes decode through pydicom's pixel-data plugins; when none is installed the error names
the packages that would decode it. pydicom is imported lazily: a folder without DICOM files
never loads it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from resunet_gui.core.errors import ImageReadError

PREAMBLE = 128
MAX_FRAMES = 100_000  # a header claiming more is hostile or corrupt (the listing has one entry each)
MAGIC = b"DICM"
# Objects with pixel data that are not images to annotate (our own SEG export among them).
NOT_IMAGES = frozenset({"SEG", "RTSTRUCT", "RTPLAN", "SR", "PR", "KO", "REG"})
# Storage classes whose IODs have no multi-frame module (PS3.3): one image per file, known
# from the file meta alone, so listing a 1,000-slice CT series skips 1,000 header parses.
SINGLE_FRAME_CLASSES = frozenset({
    "1.2.840.10008.5.1.4.1.1.1",  # CR
    "1.2.840.10008.5.1.4.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1.1",  # DX
    "1.2.840.10008.5.1.4.1.1.1.2", "1.2.840.10008.5.1.4.1.1.1.2.1",  # mammography
    "1.2.840.10008.5.1.4.1.1.1.3", "1.2.840.10008.5.1.4.1.1.1.3.1",  # intra-oral
    "1.2.840.10008.5.1.4.1.1.2",  # CT
    "1.2.840.10008.5.1.4.1.1.4",  # MR
    "1.2.840.10008.5.1.4.1.1.6.1",  # US (single frame)
    "1.2.840.10008.5.1.4.1.1.7",  # secondary capture
    "1.2.840.10008.5.1.4.1.1.128",  # PET
})


@dataclass(frozen=True)
class DicomInfo:
    """What the header says about an image, read without its pixel data."""

    rows: int
    columns: int
    frames: int
    modality: str
    photometric: str
    window: tuple[float, float] | None  # (low, high) from the first centre/width
    units: str  # "HU" for CT after rescale, else "" (unknown or arbitrary units)
    sop_instance_uid: str

    @property
    def invert(self) -> bool:
        return self.photometric == "MONOCHROME1"


def has_magic(head: bytes) -> bool:
    """True for a DICOM Part 10 file: 128-byte preamble then ``DICM``."""
    return head[PREAMBLE:PREAMBLE + 4] == MAGIC


def _fail(path: Path, why: str) -> ImageReadError:
    return ImageReadError(f"cannot read DICOM image {path.name}: {why}")


def _dcmread(path: Path, *, pixels: bool) -> Any:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(path, stop_before_pixels=not pixels)
    except FileNotFoundError:
        raise _fail(path, "file not found") from None
    except InvalidDicomError:
        raise _fail(path, "not a DICOM file (no DICM header)") from None
    except MemoryError:
        raise _fail(path, "not enough memory to read it") from None
    except Exception as exc:  # pydicom raises many types on corrupt input
        raise _fail(path, f"corrupt header ({type(exc).__name__}: {str(exc)[:80]})") from None


def _first(value: Any) -> float | None:
    """First number of a possibly multi-valued DICOM element; None if absent/invalid."""
    if value is None or value == "":
        return None
    if not isinstance(value, (int, float, str)):
        try:
            value = value[0]
        except (TypeError, IndexError):
            return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


def _frame_item(ds: Any, index: int, sequence: str) -> Any:
    """``sequence``'s item for frame ``index`` in an enhanced multi-frame (per-frame first)."""
    for groups, i in (("PerFrameFunctionalGroupsSequence", index),
                      ("SharedFunctionalGroupsSequence", 0)):
        seq = ds.get(groups)
        if seq is not None and len(seq) > i:
            inner = seq[i].get(sequence)
            if inner is not None and len(inner):
                return inner[0]
    return None


def _attr(ds: Any, index: int, sequence: str, name: str) -> Any:
    if name in ds:
        return ds.get(name)
    item = _frame_item(ds, index, sequence)
    return None if item is None else item.get(name)


def _window(ds: Any, index: int) -> tuple[float, float] | None:
    centre = _first(_attr(ds, index, "FrameVOILUTSequence", "WindowCenter"))
    width = _first(_attr(ds, index, "FrameVOILUTSequence", "WindowWidth"))
    if centre is None or width is None or width <= 0:
        return None
    return centre - width / 2.0, centre + width / 2.0


def _info(ds: Any, path: Path, index: int = 0) -> DicomInfo:
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        frames = int(ds.get("NumberOfFrames") or 1)
    except (AttributeError, TypeError, ValueError):
        raise _fail(path, "no image in it (Rows/Columns missing)") from None
    if frames > MAX_FRAMES or frames > path.stat().st_size:  # every frame takes at least a byte
        raise _fail(path, f"its header claims {frames} frames, more than the file can hold")
    modality = str(ds.get("Modality", "") or "")
    if modality in NOT_IMAGES:
        raise _fail(path, f"it is a {modality} object, not an image")
    units = str(_attr(ds, index, "PixelValueTransformationSequence", "RescaleType") or "")
    if modality == "CT" and units in ("", "HU"):
        units = "HU"
    return DicomInfo(rows=rows, columns=cols, frames=max(frames, 1), modality=modality,
                     photometric=str(ds.get("PhotometricInterpretation", "") or ""),
                     window=_window(ds, index), units=units if units == "HU" else "",
                     sop_instance_uid=str(ds.get("SOPInstanceUID", "") or ""))


def read_info(path: str | Path) -> DicomInfo:
    """Header facts without reading pixel data (for listing a folder)."""
    path = Path(path)
    return _info(_dcmread(path, pixels=False), path)


def listing_frames(path: str | Path) -> int:
    """Images in the file for a folder listing: the file meta's storage class when it can only
    hold one frame, else the header's frame count; ImageReadError for non-image objects."""
    from pydicom.filereader import read_file_meta_info

    path = Path(path)
    try:
        sop_class = str(read_file_meta_info(path).get("MediaStorageSOPClassUID", ""))
    except Exception:  # no or odd file meta: the full header decides
        sop_class = ""
    if sop_class in SINGLE_FRAME_CLASSES:
        return 1
    return read_info(path).frames


def _decode(ds: Any, path: Path, index: int) -> np.ndarray:
    from pydicom.pixels import get_decoder, pixel_array

    syntax = ds.file_meta.get("TransferSyntaxUID")
    try:
        return pixel_array(ds, index=index)
    except MemoryError:
        raise _fail(path, "not enough memory to decode it") from None
    except Exception as exc:  # plugins raise RuntimeError, ValueError, NotImplementedError...
        name = getattr(syntax, "name", str(syntax))
        try:
            decoder = get_decoder(syntax)
        except Exception:  # no decoder at all for this syntax
            raise _fail(path, f"pydicom cannot decode {name} pixel data") from None
        if not decoder.is_available:
            needs = "; ".join(decoder.missing_dependencies) or "a pixel-data plugin"
            raise _fail(path, f"{name} pixel data needs a decoder plugin that is not installed "
                              f"({needs})") from None
        raise _fail(path, f"{name} pixel data is corrupt ({str(exc).splitlines()[0][:100]})") from None


def _rescale(ds: Any, arr: np.ndarray, index: int) -> np.ndarray:
    """Stored values -> modality values; integer when slope and intercept are whole numbers."""
    slope = _first(_attr(ds, index, "PixelValueTransformationSequence", "RescaleSlope"))
    intercept = _first(_attr(ds, index, "PixelValueTransformationSequence", "RescaleIntercept"))
    slope = 1.0 if slope is None else slope
    intercept = 0.0 if intercept is None else intercept
    if slope == 1.0 and intercept == 0.0:
        return arr
    if slope.is_integer() and intercept.is_integer() and arr.dtype.kind in "ui":
        out = arr.astype(np.int64) * int(slope) + int(intercept)
        for dtype in (np.int16, np.int32):
            info = np.iinfo(dtype)
            if out.size and info.min <= out.min() and out.max() <= info.max:
                return out.astype(dtype)
        return out.astype(np.float64)
    scaled: np.ndarray = arr.astype(np.float32) * np.float32(slope) + np.float32(intercept)
    return scaled.astype(np.float32)


def read_frame(path: str | Path, index: int) -> tuple[np.ndarray, DicomInfo]:
    """Frame ``index`` (0-based) in modality units, HxW or HxWx3, with the header facts."""
    path = Path(path)
    ds = _dcmread(path, pixels=True)
    info = _info(ds, path, index)
    if not 0 <= index < info.frames:
        raise _fail(path, f"it has {info.frames} frame(s); frame {index + 1} does not exist")
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise _fail(path, "it holds no pixel data")
    arr = _decode(ds, path, index)
    if info.photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        arr = apply_color_lut(arr, ds)
        if arr.dtype != np.uint8:  # 16-bit palette entries
            arr = (arr >> 8).astype(np.uint8)
    elif arr.ndim == 2:
        arr = _rescale(ds, arr, index)
    return np.ascontiguousarray(arr), info
