"""Format registry and the export pipeline: select, split, stage, write, publish.

Writers register themselves with ``@register``; the pipeline looks a format up by name
(no if/elif chain) and drives it. Output is written into a hidden staging folder next to
the target and renamed into place only after the manifest is written, so a failed or
cancelled export leaves neither a half-written dataset nor a target folder.
"""
from __future__ import annotations

import importlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from resunet_gui.core.errors import ExportError
from resunet_gui.core.types import IGNORE_INDEX, ClassSpec

from .base import ExportCancelled, ExportItem, ExportOptions, ExportResult, Writer, remove_tree
from .base import unique_names as _unique_names
from .manifest import ManifestImage, build_manifest, write_manifest
from .split import SplitRecord, assign_splits, select, split_counts

_BUILTIN = ("png_masks", "coco", "yolo", "voc", "nifti", "labelme")
WRITERS: dict[str, type[Writer]] = {}
W = TypeVar("W", bound=type[Writer])
Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


def register(cls: W) -> W:
    """Class decorator: make a writer available under ``cls.name``."""
    WRITERS[cls.name] = cls
    return cls


def _load_builtin() -> None:
    for mod in _BUILTIN:
        importlib.import_module(f"{__package__}.{mod}")


def formats() -> dict[str, str]:
    """Format name -> one-line description, in a stable order (for the CLI and the dialog)."""
    _load_builtin()
    return {name: WRITERS[name].description for name in sorted(WRITERS)}


def writer_class(fmt: str) -> type[Writer]:
    _load_builtin()
    try:
        return WRITERS[fmt]
    except KeyError:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(sorted(WRITERS))}") from None


@dataclass(frozen=True)
class SourceImage:
    """One candidate image, independent of how the project stores it."""

    stem: str
    image_path: Path
    status: str
    group: str | None = None
    split: str | None = None  # the project's own split, used when options.split is None
    model_version: str | None = None
    corrected_fraction: float | None = None


def _check_target(out: Path, overwrite: bool, source: Path | None) -> None:
    out_r = out.resolve()
    if source is not None:
        src = source.resolve()
        if out_r == src or out_r in src.parents or src in out_r.parents:
            raise ExportError(f"export folder {out} must lie outside the project folder {source}")
    if out.exists() and not out.is_dir():
        raise ExportError(f"export target {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ExportError(f"export folder {out} is not empty; choose another or allow overwrite")


def _publish(staging: Path, out: Path) -> None:
    """Move the finished staging folder to ``out``, replacing an old export if present."""
    old: Path | None = None
    if out.is_dir():
        if any(out.iterdir()):
            old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(out, old)
        else:
            out.rmdir()
    try:
        os.replace(staging, out)
    except OSError:
        if old is not None:
            os.replace(old, out)  # put the previous export back
        raise
    if old is not None:
        remove_tree(old)


def export_images(images: list[SourceImage], classes: list[ClassSpec], fmt: str, out: Path,
                  options: ExportOptions, load_mask: Callable[[str], np.ndarray | None], *,
                  source: Path | None = None, progress: Progress | None = None,
                  should_cancel: Cancel | None = None) -> ExportResult:
    """Export ``images`` (masks read on demand through ``load_mask``) as format ``fmt``."""
    t0 = time.perf_counter()
    cls = writer_class(fmt)
    out = Path(out)
    _check_target(out, options.overwrite, source)
    warnings: list[str] = []
    by_stem = {im.stem: im for im in images}
    chosen = select([SplitRecord(im.stem, im.status, im.group) for im in images], options.include)
    masks_present: dict[str, tuple[int, ...]] = {}
    kept: list[str] = []
    for rec in chosen:
        mask = load_mask(rec.stem)
        if mask is None:
            warnings.append(f"{rec.stem}: no mask, skipped")
            continue
        kept.append(rec.stem)
        hist = np.bincount(np.asarray(mask, np.uint8).ravel(), minlength=256)
        masks_present[rec.stem] = tuple(int(c) for c in np.nonzero(hist)[0] if c != IGNORE_INDEX)
    if not kept:
        raise ExportError(f"nothing to export: no images with masks match --include {options.include}")
    if options.split is None:
        assignment = {s: by_stem[s].split if by_stem[s].split in ("train", "val", "test") else "train"
                      for s in kept}
    else:
        assignment = assign_splits(
            [SplitRecord(s, by_stem[s].status, by_stem[s].group, masks_present[s]) for s in kept],
            options.split, options.seed)
    names = _unique_names(kept)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex[:8]}")
    staging.mkdir()
    try:
        writer = cls(staging, classes, options)
        writer.begin()
        for i, stem in enumerate(kept):
            if should_cancel is not None and should_cancel():
                raise ExportCancelled("export cancelled; nothing was written")
            mask = load_mask(stem)
            if mask is None:
                raise ExportError(f"mask of {stem} disappeared during the export")
            writer.write(ExportItem(stem, names[stem], by_stem[stem].image_path,
                                    np.asarray(mask, np.uint8), assignment[stem]))
            if progress is not None:
                progress(i + 1, len(kept))
        writer.finish([(names[s], assignment[s], by_stem[s].group) for s in kept])
        manifest = build_manifest(
            fmt=fmt, source=str(source) if source is not None else None, classes=writer.classes,
            options=options, files=writer.files, ignore_note=cls.ignore_note, warnings=warnings,
            images=[ManifestImage(s, names[s], assignment[s], by_stem[s].status, by_stem[s].group,
                                  by_stem[s].model_version, by_stem[s].corrected_fraction)
                    for s in kept])
        write_manifest(staging, manifest)
        _publish(staging, out)
    except BaseException:
        remove_tree(staging)
        raise
    total = sum((out / rel).stat().st_size for rel in writer.files)
    return ExportResult(out=out, format=fmt, images=len(kept), split_counts=split_counts(assignment),
                        files=len(writer.files) + 1, bytes=total,
                        seconds=time.perf_counter() - t0, manifest=out / "manifest.json",
                        warnings=warnings)


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


def export_project(project: Any, fmt: str, out: Path | str, options: ExportOptions | None = None,
                   progress: Progress | None = None,
                   should_cancel: Cancel | None = None) -> ExportResult:
    """Export an open ``core.project.Project``; never writes into the project folder."""
    options = options or ExportOptions()
    images = []
    for stem in project.stems():
        entry = project.entry(stem)
        images.append(SourceImage(
            stem=stem, image_path=Path(project.image_path(stem)), status=str(_value(entry.status)),
            group=project.group_of(stem), split=project.split_of(stem),
            model_version=entry.model_version, corrected_fraction=entry.corrected_fraction))
    def load_mask(stem: str) -> np.ndarray | None:  # size and class values: core.mask_check
        return project.read_mask_checked(stem, unknown=options.unknown_values, warnings=notes)

    notes: list[str] = []
    result = export_images(images, list(project.classes), fmt, Path(out), options, load_mask,
                           source=Path(project.folder), progress=progress,
                           should_cancel=should_cancel)
    result.warnings.extend(dict.fromkeys(notes))  # each mask is read twice: report once
    return result
