"""Careful file access for label sources: every file is hostile until read and checked.

Listing never follows symbolic links (a link could point anywhere on the disk) and skips
hidden entries; JSON is size-capped and its parse errors become ``LabelImportError``; names
taken from inside label files are reduced to a bare stem and never used to open anything.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .base import LabelImportError

MAX_JSON_BYTES = 1 << 30  # COCO train2017 instances is 450 MB
MAX_TEXT_BYTES = 64 << 20
MANIFEST_NAME = "manifest.json"


def check_source(source: Path) -> Path:
    source = Path(source).expanduser()
    if not source.exists():
        raise LabelImportError(f"label source {source} does not exist")
    return source


def stem_of(name: str) -> str:
    """File stem, treating ``.nii.gz`` as one suffix."""
    base = name.rsplit("/", 1)[-1]
    if base.lower().endswith(".nii.gz"):
        return base[:-7]
    return base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base


def stem_from_reference(file_name: Any) -> str | None:
    """Stem of an image name written inside a label file (``../x/a.jpg`` -> ``a``), or None.

    Only the last path component counts, whatever separators or ``..`` the text holds.
    """
    if not isinstance(file_name, str) or not file_name.strip() or "\x00" in file_name:
        return None
    base = re.split(r"[\\/]", file_name.strip())[-1]
    stem = stem_of(base)
    return None if stem in ("", ".", "..") else stem


def list_files(root: Path, suffixes: Iterable[str], *, recursive: bool = True,
               skip_dirs: Iterable[str] = ()) -> tuple[list[Path], list[str]]:
    """Regular files under ``root`` ending in one of ``suffixes`` (lower-case), sorted; plus
    warnings for symbolic links that were skipped."""
    suffixes = tuple(s.lower() for s in suffixes)
    skip = {d.lower() for d in skip_dirs}
    found: list[Path] = []
    links: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            if d.startswith(".") or d.lower() in skip:
                continue
            if (here / d).is_symlink():
                links.append(str((here / d).relative_to(root)))
                continue
            keep.append(d)
        dirnames[:] = keep if recursive else []
        for f in filenames:
            if f.startswith(".") or not f.lower().endswith(suffixes):
                continue
            path = here / f
            if path.is_symlink():
                links.append(str(path.relative_to(root)))
            elif path.is_file():
                found.append(path)
    warnings = [f"{len(links)} symbolic link(s) not followed: {', '.join(links[:5])}"] if links else []
    return sorted(found), warnings


def read_bytes(path: Path, limit: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise LabelImportError(f"{path.name} is {size / 2**20:.0f} MiB, more than the "
                                   f"{limit / 2**20:.0f} MiB accepted")
        with open(path, "rb") as fh:
            return fh.read(limit + 1)[:limit]
    except OSError as exc:
        raise LabelImportError(f"cannot read {path.name}: {exc.strerror or exc}") from None


def read_json(path: Path, limit: int = MAX_JSON_BYTES) -> Any:
    data = read_bytes(path, limit)
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise LabelImportError(f"{path.name} is not valid JSON ({str(exc)[:80]})") from None


def read_text(path: Path, limit: int = MAX_TEXT_BYTES) -> str:
    try:
        return read_bytes(path, limit).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LabelImportError(f"{path.name} is not UTF-8 text") from None


def manifest_of(root: Path) -> dict[str, Any]:
    """An export's manifest.json (ours) when present and sane, else ``{}``."""
    path = root / MANIFEST_NAME
    if not path.is_file() or path.is_symlink():
        return {}
    try:
        obj = read_json(path, MAX_TEXT_BYTES)
    except LabelImportError:
        return {}
    return obj if isinstance(obj, dict) else {}


def manifest_stems(manifest: dict[str, Any]) -> dict[str, str]:
    """Exported file name -> original project stem, from a manifest's image list."""
    out: dict[str, str] = {}
    images = manifest.get("images")
    for im in images if isinstance(images, list) else []:
        if isinstance(im, dict) and isinstance(im.get("file"), str) and isinstance(im.get("stem"), str):
            out[im["file"]] = im["stem"]
    return out


def manifest_classes(manifest: dict[str, Any]) -> dict[int, str]:
    """Class id -> name recorded by an export's manifest (empty when there is none)."""
    out: dict[int, str] = {}
    classes = manifest.get("classes")
    for c in classes if isinstance(classes, list) else []:
        if isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("id"), int) \
                and not isinstance(c.get("id"), bool):
            out[c["id"]] = c["name"]
    return out
