"""Stacks (multi-frame DICOM, multi-page TIFF) as one project image per slice.

A slice is addressed by a *slice path*: the stack file followed by ``z<index>.tif``, e.g.
``images/scan.dcm/z0003.tif``. No real file can live under a regular file, so a slice path
is never ambiguous, and everything that takes an image path (reading, header sizes, export
copies) works per slice; the ``.tif`` suffix is the format an export writes the slice in
(lossless, any pixel type). Every DICOM image is addressed this way, single-frame ones as
slice 0, so exports never copy a DICOM file where an image file is expected. A slice's stem
is ``<file stem>_z0003`` (a single-frame DICOM keeps its file stem), so its mask is
``masks/<file stem>_z0003.png``. Listing reads headers only: a slice count never decodes a
slice.
"""
from __future__ import annotations

import os
import re
import struct
from pathlib import Path

import numpy as np
import tifffile

from resunet_gui.core import dicom_io
from resunet_gui.core.errors import ImageReadError

DICOM_SUFFIXES = (".dcm", ".dicom")
TIFF_SUFFIXES = (".tif", ".tiff")
_SLICE_NAME = re.compile(r"z(\d{4,9})\.tif")
_UID_SUFFIX = re.compile(r"\.\d+")  # "1.2.840.113619.2.55.3": a DICOM name, not a suffix


def slice_relpath(relpath: str, index: int) -> str:
    """The slice path of slice ``index`` (0-based) of the stack file at ``relpath``."""
    return f"{relpath}/z{index:04d}.tif"


def slice_stem(stem: str, index: int) -> str:
    return f"{stem}_z{index:04d}"


def split_slice_path(path: str | Path) -> tuple[Path, int] | None:
    """(stack file, slice index) for a slice path; None for an ordinary file path."""
    path = Path(path)
    match = _SLICE_NAME.fullmatch(path.name)
    if match is None or not path.parent.is_file():
        return None
    return path.parent, int(match.group(1))


def maybe_dicom_name(name: str) -> bool:
    """Names worth a 132-byte read for the DICM magic: DICOM suffixes, none, or a UID tail."""
    suffix = os.path.splitext(name)[1]
    return suffix.lower() in DICOM_SUFFIXES or suffix == "" or bool(_UID_SUFFIX.fullmatch(suffix))


def may_hold_slices(name: str) -> bool:
    """TIFF and DICOM files (by suffix, or any name the scan found DICM in) need a header read."""
    suffix = os.path.splitext(name)[1].lower()
    return suffix not in (".png", ".jpg", ".jpeg", ".bmp")


def is_dicom_file(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return dicom_io.has_magic(fh.read(dicom_io.PREAMBLE + 4))
    except OSError:
        return False


def _tiff_has_more_pages(path: Path) -> bool:
    """Whether the first IFD links to another (header bytes only; False if unreadable)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
            end = "<" if head[:2] == b"II" else ">"
            big = head[2:4] in (b"+\x00", b"\x00+")
            fmt = ("Q", "Q", 20, 8) if big else ("I", "H", 12, 2)
            (ifd,) = struct.unpack_from(end + fmt[0], head, 8 if big else 4)
            fh.seek(ifd)
            (count,) = struct.unpack(end + fmt[1], fh.read(fmt[3]))
            fh.seek(ifd + fmt[3] + count * fmt[2])
            (nxt,) = struct.unpack(end + fmt[0], fh.read(8 if big else 4))
            return bool(nxt != 0)
    except (OSError, struct.error):
        return False


def tiff_slice_count(path: Path) -> int:
    """Pages of the TIFF's first series (1 for ordinary TIFFs, thumbnails and pyramids)."""
    if not _tiff_has_more_pages(path):
        return 1
    try:
        with tifffile.TiffFile(path) as tif:
            return max(1, len(tif.series[0].pages)) if tif.series else 1
    except Exception:  # a corrupt file lists as one image and fails with a message when opened
        return 1


def expand(stem: str, relpath: str, path: Path) -> list[tuple[str, str]]:
    """(stem, relpath) per image in the file: one per slice for stacks, [] for DICOM non-images."""
    if path.suffix.lower() in TIFF_SUFFIXES:
        n = tiff_slice_count(path)
        if n == 1:
            return [(stem, relpath)]
        return [(slice_stem(stem, i), slice_relpath(relpath, i)) for i in range(n)]
    try:
        frames = dicom_io.listing_frames(path)
    except ImageReadError as exc:
        if "not an image" in str(exc) or "no image in it" in str(exc):
            return []
        return [(stem, relpath)]  # listed; opening it shows the reason
    if frames == 1:
        return [(stem, slice_relpath(relpath, 0))]
    return [(slice_stem(stem, i), slice_relpath(relpath, i)) for i in range(frames)]


def stack_members(relpaths: dict[str, str]) -> dict[str, list[str]]:
    """stem -> the stems of its stack's slices in slice order (only stems that are slices)."""
    by_file: dict[str, list[tuple[int, str]]] = {}
    for stem, rel in relpaths.items():
        head, _, name = rel.rpartition("/")
        match = _SLICE_NAME.fullmatch(name)
        if match is not None and head:
            by_file.setdefault(head, []).append((int(match.group(1)), stem))
    out: dict[str, list[str]] = {}
    for members in by_file.values():
        ordered = [stem for _i, stem in sorted(members)]
        out.update({stem: ordered for stem in ordered})
    return out


def _tiff_fail(path: Path, why: str) -> ImageReadError:
    return ImageReadError(f"cannot read image {path.name}: {why}")


def tiff_slice_size(path: Path, index: int) -> tuple[int, int]:
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            if not 0 <= index < len(series.pages):
                raise _tiff_fail(path, f"it has {len(series.pages)} pages; page {index + 1} does not exist")
            page = series.keyframe
            return int(page.imagelength), int(page.imagewidth)
    except ImageReadError:
        raise
    except Exception as exc:  # tifffile raises many types on corrupt input
        raise _tiff_fail(path, f"corrupt TIFF ({type(exc).__name__})") from None


def read_tiff_slice(path: Path, index: int) -> np.ndarray:
    """Page ``index`` of the first series, decoded alone (imagecodecs for LZW/zstd/JPEG...)."""
    tiff_slice_size(path, index)
    try:
        with tifffile.TiffFile(path) as tif:
            planar = getattr(tif.series[0].keyframe, "planarconfig", None) == 2
            arr = np.asarray(tif.asarray(key=index, series=0))
    except MemoryError:
        raise _tiff_fail(path, "not enough memory to decode it") from None
    except Exception as exc:  # tifffile and imagecodecs raise many types
        raise _tiff_fail(path, f"page {index + 1} cannot be decoded ({type(exc).__name__}: "
                               f"{str(exc)[:80]})") from None
    if arr.ndim == 3 and planar and arr.shape[0] in (1, 2, 3, 4):
        arr = np.moveaxis(arr, 0, -1)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    return np.ascontiguousarray(arr)


def slice_as_tiff(raw: np.ndarray) -> bytes:
    """A slice's pixels as one lossless TIFF page (what an export writes for a slice path)."""
    import io

    buf = io.BytesIO()
    tifffile.imwrite(buf, raw, photometric="rgb" if raw.ndim == 3 else "minisblack",
                     compression="zlib")
    return buf.getvalue()
