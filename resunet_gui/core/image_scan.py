"""Listing a folder's images by directory entries alone, with readable warnings.

Kept apart from ``Project`` because ``predict`` lists plain folders the same way.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from resunet_gui.core import imageio, stacks
from resunet_gui.core.natural_sort import natural_key

_EXAMPLES = 3  # names quoted per warning, so 10,000 bad files make one readable line
_ODD_CHARS = re.compile(r'[\x00-\x1f<>:"\\|?*]')  # rejected by Windows or by shells
_SKIPPED = {  # kind -> warning text, in the order the warnings are shown
    "collision": "images skipped because another image has the same name",
    "undecodable": "files skipped: their names are not valid text",
    "broken": "images skipped: broken links",
    "loop": "entries skipped: links that loop back on themselves or to a folder already listed",
    "special": "images skipped: not regular files (pipes, devices)",
    "not_image": "DICOM files skipped: they hold no image to annotate "
                 "(segmentations, structure sets, reports)",
    "odd": "image names with characters other programs may reject",
}


def summarize_names(what: str, names: list[str]) -> str:
    """One warning line for many files: a count and the first few names."""
    shown = ", ".join(repr(n) for n in names[:_EXAMPLES])
    more = f" and {len(names) - _EXAMPLES} more" if len(names) > _EXAMPLES else ""
    return f"{len(names)} {what}: {shown}{more}"


def _dir_key(folder: Path) -> tuple[int, int] | None:
    """(device, inode) of a folder (following links), None when it cannot be read."""
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def scan_images(root: Path, *, recursive: bool, skip: set[str]) -> tuple[dict[str, str], list[str]]:
    """stem -> path relative to ``root`` (posix) for every image file, plus warnings.

    Uses directory entries only (no stat except for symlinks and folders): fast on 10,000
    files. Link loops, links back to a folder already listed, and FIFOs/devices named like
    images are skipped with a warning: nothing here ever blocks or raises on a bad entry.
    """
    found: dict[str, str] = {}
    skipped: dict[str, list[str]] = {kind: [] for kind in _SKIPPED}
    seen_dirs = {_dir_key(root)}
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            return found, [f"cannot list {folder}: {exc.strerror}"]
        for e in entries:
            name = e.name
            if name.startswith("."):
                continue
            rel = prefix + name
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                skipped["undecodable"].append(rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
                continue
            try:
                is_dir, is_file = e.is_dir(), e.is_file()
            except OSError:  # ELOOP: a link that leads back to itself
                skipped["loop"].append(rel)
                continue
            if is_dir:
                if recursive and not (prefix == "" and name in skip):
                    key = _dir_key(Path(e.path))
                    if key is None or key in seen_dirs:
                        skipped["loop"].append(rel + "/")
                        continue
                    seen_dirs.add(key)
                    stack.append((Path(e.path), rel + "/"))
                continue
            stem, suffix = os.path.splitext(name)
            if suffix.lower() not in imageio.IMAGE_SUFFIXES:
                if not (is_file and stacks.maybe_dicom_name(name)
                        and stacks.is_dicom_file(Path(e.path))):
                    continue
                stem = name  # an extensionless or UID-named DICOM file keeps every dot
            if not is_file:
                skipped["broken" if e.is_symlink() else "special"].append(rel)
                continue
            if stem in found:
                skipped["collision"].append(f"{rel} (same name as {found[stem]})")
                continue
            if _ODD_CHARS.search(name) or name != name.strip():
                skipped["odd"].append(rel)
            if stacks.may_hold_slices(name):  # header read: one entry per slice
                items = stacks.expand(stem, rel, Path(e.path))
                if not items:
                    skipped["not_image"].append(rel)
                found.update((s, r) for s, r in items if s not in found)
            else:
                found[stem] = rel
    warnings = [summarize_names(_SKIPPED[kind], names) for kind, names in skipped.items() if names]
    return dict(sorted(found.items(), key=lambda kv: natural_key(kv[0]))), warnings
