"""Listing a folder's images by directory entries alone, with readable warnings.

Kept apart from ``Project`` because ``predict`` lists plain folders the same way.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from resunet_gui.core import imageio
from resunet_gui.core.natural_sort import natural_key

_EXAMPLES = 3  # names quoted per warning, so 10,000 bad files make one readable line
_ODD_CHARS = re.compile(r'[\x00-\x1f<>:"\\|?*]')  # rejected by Windows or by shells


def summarize_names(what: str, names: list[str]) -> str:
    """One warning line for many files: a count and the first few names."""
    shown = ", ".join(repr(n) for n in names[:_EXAMPLES])
    more = f" and {len(names) - _EXAMPLES} more" if len(names) > _EXAMPLES else ""
    return f"{len(names)} {what}: {shown}{more}"


def scan_images(root: Path, *, recursive: bool, skip: set[str]) -> tuple[dict[str, str], list[str]]:
    """stem -> path relative to ``root`` (posix) for every image file, plus warnings.

    Uses directory entries only (no stat except for symlinks): fast on 10,000 files.
    """
    found: dict[str, str] = {}
    collisions, undecodable, odd, broken = [], [], [], []
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
                undecodable.append(rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
                continue
            if e.is_dir():
                if recursive and not (prefix == "" and name in skip):
                    stack.append((Path(e.path), rel + "/"))
                continue
            stem, suffix = os.path.splitext(name)
            if suffix.lower() not in imageio.IMAGE_SUFFIXES:
                continue
            if e.is_symlink() and not e.is_file():
                broken.append(rel)
                continue
            if stem in found:
                collisions.append(f"{rel} (same name as {found[stem]})")
                continue
            if _ODD_CHARS.search(name) or name != name.strip():
                odd.append(rel)
            found[stem] = rel
    warnings = []
    if collisions:
        warnings.append(summarize_names("images skipped because another image has the same name", collisions))
    if undecodable:
        warnings.append(summarize_names("files skipped: their names are not valid text", undecodable))
    if broken:
        warnings.append(summarize_names("images skipped: broken links", broken))
    if odd:
        warnings.append(summarize_names("image names with characters other programs may reject", odd))
    return dict(sorted(found.items(), key=lambda kv: natural_key(kv[0]))), warnings
