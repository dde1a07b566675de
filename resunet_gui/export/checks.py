"""Safety checks of the export pipeline: what ``--overwrite`` may replace, and which source
files are fit to export (readable, same size as their mask, known mask values, inside the
project folder).

Every per-file problem becomes one line naming the file at fault, so the pipeline can stop
with the whole list (default) or leave those images out and record them (``--skip-bad``).
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from resunet_gui.core.errors import ExportError, MaskError, ResunetError
from resunet_gui.core.imageio import read_image
from resunet_gui.core.mask_check import check_mask
from resunet_gui.core.stacks import split_slice_path
from resunet_gui.core.storage import file_sha256
from resunet_gui.core.types import IGNORE_INDEX, ClassSpec

from .manifest import MANIFEST_NAME


def _previous_export_files(out: Path) -> dict[str, str] | None:
    """Files (relative path -> sha256) listed by ``out/manifest.json`` if it is a resunet-gui
    manifest, else None."""
    path = out / MANIFEST_NAME
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("app") != "resunet-gui" or not isinstance(data.get("files"), dict):
        return None
    return {str(k): str(v) for k, v in data["files"].items()} | {MANIFEST_NAME: ""}


def _unexpected(out: Path, listed: dict[str, str]) -> list[str]:
    """Relative paths under ``out`` that the manifest does not list, or whose content is not
    what the export wrote (edited by hand, or a forged manifest); links count as unexpected."""
    extra = []
    for dirpath, dirnames, filenames in os.walk(out, followlinks=False):
        base = Path(dirpath)
        for name in filenames + [d for d in dirnames if (base / d).is_symlink()]:
            path = base / name
            rel = path.relative_to(out).as_posix()
            if rel not in listed or path.is_symlink():
                extra.append(rel)
            elif rel != MANIFEST_NAME and (not path.is_file() or file_sha256(path) != listed[rel]):
                extra.append(f"{rel} (changed since the export)")
    return sorted(extra)


def check_replaceable(out: Path) -> None:
    """``--overwrite`` only replaces a previous export: a resunet-gui ``manifest.json`` and
    nothing it does not list. Anything else (a thesis folder, an edited export) is refused."""
    listed = _previous_export_files(out)
    if listed is None:
        raise ExportError(f"--overwrite refused: {out} is not a previous resunet-gui export (it has no "
                          f"valid {MANIFEST_NAME}); nothing was deleted. Choose an empty or new folder.")
    extra = _unexpected(out, listed)
    if extra:
        shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        raise ExportError(f"--overwrite refused: {out} holds files that are not part of the previous "
                          f"export ({shown}); nothing was deleted. Move them or choose another folder.")


def leaves_folder(path: Path, folder: Path) -> bool:
    """True when ``path`` (through symlinks) resolves outside ``folder``; a slice of a stack
    is judged by its stack file."""
    sliced = split_slice_path(path)
    if sliced is not None:
        path = sliced[0]
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return True
    root = folder.resolve()
    return real != root and root not in real.parents


@dataclass
class Inspected:
    """Outcome of checking one image: classes present in its mask, or why it is unfit."""

    present: tuple[int, ...] = ()
    missing_mask: bool = False
    problem: str | None = None


def inspect_image(stem: str, image_path: Path, classes: list[ClassSpec],
                  load_mask: Callable[[str], np.ndarray | None],
                  mask_path: Path | None = None) -> Inspected:
    """Read the mask and fully decode the image (a truncated file is caught here, not copied)."""
    try:
        mask = load_mask(stem)
    except MaskError as exc:  # readable, but wrong size or values (core.mask_check)
        return Inspected(problem=f"{stem}: {exc}")
    except (ResunetError, OSError, ValueError) as exc:
        where = f" {mask_path}" if mask_path is not None else ""
        return Inspected(problem=f"{stem}: mask{where} unreadable: {exc}")
    if mask is None:
        return Inspected(missing_mask=True)
    try:
        image = read_image(image_path)
    except (ResunetError, OSError, ValueError) as exc:
        return Inspected(problem=f"{stem}: image {image_path} unreadable: {exc}")
    mask = np.asarray(mask)
    try:  # the same check as the project's reader, for loaders that do not check
        check_mask(stem, mask, image.raw.shape[:2], [c.id for c in classes], IGNORE_INDEX)
    except MaskError as exc:
        return Inspected(problem=f"{stem}: {exc}")
    hist = np.bincount(mask.astype(np.uint8).ravel(), minlength=256)
    return Inspected(present=tuple(int(c) for c in np.nonzero(hist)[0] if c != IGNORE_INDEX))
