"""Listing a folder's images by directory entries alone, with readable warnings.

Kept apart from ``Project`` because ``predict`` lists plain folders the same way.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
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
    walk = _Walk(recursive, skip, seen_dirs={_dir_key(root)}, stack=[(root, "")])
    while walk.stack:
        folder, prefix = walk.stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            return walk.found, [f"cannot list {folder}: {exc.strerror}"]
        for e in entries:
            walk.visit(e, prefix)
    skipped = walk.skipped
    warnings = [summarize_names(_SKIPPED[kind], names) for kind, names in skipped.items() if names]
    return dict(sorted(walk.found.items(), key=lambda kv: natural_key(kv[0]))), warnings


@dataclass
class _Walk:
    """What ``scan_images`` has found so far: images, skipped entries by kind, folders to list."""

    recursive: bool
    skip: set[str]
    seen_dirs: set[tuple[int, int] | None]
    stack: list[tuple[Path, str]]
    found: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, list[str]] = field(
        default_factory=lambda: {kind: [] for kind in _SKIPPED})

    def visit(self, e: os.DirEntry[str], prefix: str) -> None:
        """One directory entry: hidden, unreadable, a folder to descend into, or a file."""
        name = e.name
        if name.startswith("."):
            return
        rel = prefix + name
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            self.skipped["undecodable"].append(rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
            return
        try:
            is_dir, is_file = e.is_dir(), e.is_file()
        except OSError:  # ELOOP: a link that leads back to itself
            self.skipped["loop"].append(rel)
            return
        if is_dir:
            self._descend(e, prefix, rel)
        else:
            self._add_file(e, rel, is_file)

    def _descend(self, e: os.DirEntry[str], prefix: str, rel: str) -> None:
        if not self.recursive or (prefix == "" and e.name in self.skip):
            return
        key = _dir_key(Path(e.path))
        if key is None or key in self.seen_dirs:
            self.skipped["loop"].append(rel + "/")
            return
        self.seen_dirs.add(key)
        self.stack.append((Path(e.path), rel + "/"))

    def _add_file(self, e: os.DirEntry[str], rel: str, is_file: bool) -> None:
        name = e.name
        stem, suffix = os.path.splitext(name)
        if suffix.lower() not in imageio.IMAGE_SUFFIXES:
            if not (is_file and stacks.maybe_dicom_name(name)
                    and stacks.is_dicom_file(Path(e.path))):
                return
            stem = name  # an extensionless or UID-named DICOM file keeps every dot
        if not is_file:
            self.skipped["broken" if e.is_symlink() else "special"].append(rel)
            return
        if stem in self.found:
            self.skipped["collision"].append(f"{rel} (same name as {self.found[stem]})")
            return
        if _ODD_CHARS.search(name) or name != name.strip():
            self.skipped["odd"].append(rel)
        if stacks.may_hold_slices(name):  # header read: one entry per slice
            items = stacks.expand(stem, rel, Path(e.path))
            if not items:
                self.skipped["not_image"].append(rel)
            self.found.update((s, r) for s, r in items if s not in self.found)
        else:
            self.found[stem] = rel
