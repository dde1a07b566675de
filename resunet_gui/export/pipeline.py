"""The export pipeline: select, split, stage, write, publish.

It looks a format up in the registry (``registry.writer_class``) and drives its writer.
Output is written into a hidden staging folder next to the target and renamed into place
only after the manifest is written, so a failed or cancelled export leaves neither a
half-written dataset nor a target folder.
"""
from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from resunet_gui.core.errors import ExportError
from resunet_gui.core.types import ClassSpec

from .base import ExportCancelled, ExportItem, ExportOptions, ExportResult, Writer, remove_tree
from .base import unique_names as _unique_names
from .checks import check_replaceable, inspect_image, leaves_folder
from .manifest import ManifestImage, build_manifest, write_manifest
from .registry import writer_class
from .split import SplitRecord, assign_splits, select, split_counts

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


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
    mask_path: Path | None = None  # named in error messages


def _check_target(out: Path, overwrite: bool, source: Path | None) -> None:
    out_r = out.resolve()
    if source is not None:
        src = source.resolve()
        if out_r == src or out_r in src.parents or src in out_r.parents:
            raise ExportError(f"export folder {out} must lie outside the project folder {source}")
    if out.exists() and not out.is_dir():
        raise ExportError(f"export target {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ExportError(f"export folder {out} is not empty; choose another or allow overwrite")
        check_replaceable(out)


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


@dataclass
class _Selection:
    """Images that passed the checks, with what the manifest must say about the others."""

    kept: list[str]
    present: dict[str, tuple[int, ...]]
    warnings: list[str]
    skipped: list[dict[str, str]]


def _select_checked(images: list[SourceImage], classes: list[ClassSpec], options: ExportOptions,
                    load_mask: Callable[[str], np.ndarray | None], source: Path | None,
                    should_cancel: Cancel | None = None, progress: Progress | None = None) -> _Selection:
    """Pick the images to export; every unfit file is listed (error) or skipped (``skip_bad``).

    Checking decodes every image (seconds on a large folder), hence its own ``progress``.
    """
    sel = _Selection([], {}, [], [])
    problems: list[tuple[str, str]] = []
    chosen = select([SplitRecord(im.stem, im.status, im.group) for im in images], options.include)
    by_stem = {im.stem: im for im in images}
    for i, rec in enumerate(chosen):
        if should_cancel is not None and should_cancel():
            raise ExportCancelled("export cancelled; nothing was written")
        if progress is not None:
            progress(i + 1, len(chosen))
        path = by_stem[rec.stem].image_path
        if source is not None and leaves_folder(path, source):
            if not options.follow_symlinks:
                sel.warnings.append(f"{rec.stem}: image {path} links outside the project folder; left out "
                                    "(use --follow-symlinks to export it)")
                continue
            sel.warnings.append(f"{rec.stem}: image {path} links outside the project folder; exported "
                                "(--follow-symlinks)")
        found = inspect_image(rec.stem, path, classes, load_mask, by_stem[rec.stem].mask_path)
        if found.missing_mask:
            sel.warnings.append(f"{rec.stem}: no mask, skipped")
        elif found.problem is not None:
            problems.append((rec.stem, found.problem))
        else:
            sel.kept.append(rec.stem)
            sel.present[rec.stem] = found.present
    if problems and not options.skip_bad:
        lines = "\n  ".join(msg for _, msg in problems)
        raise ExportError(f"{len(problems)} file(s) cannot be exported (nothing was written; "
                          f"--skip-bad leaves them out):\n  {lines}")
    sel.skipped = [{"stem": stem, "error": msg} for stem, msg in problems]
    sel.warnings += [f"skipped (--skip-bad): {msg}" for _, msg in problems]
    if not sel.kept:
        linked = sum("links outside the project folder" in w for w in sel.warnings)
        hint = f" ({linked} image(s) link outside the project folder: --follow-symlinks)" if linked else ""
        raise ExportError(f"nothing to export: no images with masks match --include {options.include}{hint}")
    return sel


def _stored_split(split: str | None) -> str:
    return split if split is not None and split in ("train", "val", "test") else "train"


def _write_all(writer: Writer, items: list[ExportItem], load_mask: Callable[[str], np.ndarray | None],
               progress: Progress | None, should_cancel: Cancel | None) -> None:
    for i, item in enumerate(items):
        if should_cancel is not None and should_cancel():
            raise ExportCancelled("export cancelled; nothing was written")
        mask = load_mask(item.stem)
        if mask is None:
            raise ExportError(f"mask of {item.stem} disappeared during the export")
        item.mask = np.asarray(mask, np.uint8)
        writer.write(item)
        item.mask = np.zeros((0, 0), np.uint8)  # do not hold every mask until the end
        if progress is not None:
            progress(i + 1, len(items))


def export_images(images: list[SourceImage], classes: list[ClassSpec], fmt: str, out: Path,
                  options: ExportOptions, load_mask: Callable[[str], np.ndarray | None], *,
                  source: Path | None = None, progress: Progress | None = None,
                  should_cancel: Cancel | None = None,
                  check_progress: Progress | None = None) -> ExportResult:
    """Export ``images`` (masks read on demand through ``load_mask``) as format ``fmt``.

    ``check_progress`` follows the pass that checks every file before anything is written,
    ``progress`` the writing (both count images).
    """
    t0 = time.perf_counter()
    cls = writer_class(fmt)
    out = Path(out)
    _check_target(out, options.overwrite, source)
    by_stem = {im.stem: im for im in images}
    sel = _select_checked(images, classes, options, load_mask, source, should_cancel, check_progress)
    kept = sel.kept
    if options.split is None:
        assignment = {s: _stored_split(by_stem[s].split) for s in kept}
    else:
        assignment = assign_splits(
            [SplitRecord(s, by_stem[s].status, by_stem[s].group, sel.present[s]) for s in kept],
            options.split, options.seed)
    names = _unique_names(kept)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex[:8]}")
    staging.mkdir()
    writer = cls(staging, classes, options, final_root=out)
    try:
        writer.begin()
        _write_all(writer, [ExportItem(s, names[s], by_stem[s].image_path, np.zeros((0, 0), np.uint8),
                                       assignment[s]) for s in kept], load_mask, progress, should_cancel)
        writer.finish([(names[s], assignment[s], by_stem[s].group) for s in kept])
        warnings = sel.warnings + writer.warnings
        manifest = build_manifest(
            fmt=fmt, source=str(source) if source is not None else None, classes=writer.classes,
            options=options, files=writer.files, ignore_note=cls.ignore_note, warnings=warnings,
            images=[ManifestImage(s, names[s], assignment[s], by_stem[s].status, by_stem[s].group,
                                  by_stem[s].model_version, by_stem[s].corrected_fraction)
                    for s in kept], format_info=writer.info, skipped=sel.skipped)
        write_manifest(staging, manifest)
        _publish(staging, out)
    except BaseException:
        writer.abort()
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
                   should_cancel: Cancel | None = None,
                   check_progress: Progress | None = None) -> ExportResult:
    """Export an open ``core.project.Project``; never writes into the project folder."""
    options = options or ExportOptions()
    images = []
    for stem in project.stems():
        entry = project.entry(stem)
        images.append(SourceImage(
            stem=stem, image_path=Path(project.image_path(stem)), status=str(_value(entry.status)),
            group=project.group_of(stem), split=project.split_of(stem),
            model_version=entry.model_version, corrected_fraction=entry.corrected_fraction,
            mask_path=Path(project.mask_path(stem))))

    def load_mask(stem: str) -> np.ndarray | None:  # size and class values: core.mask_check
        return project.read_mask_checked(stem, unknown=options.unknown_values, warnings=notes)

    notes: list[str] = []
    result = export_images(images, list(project.classes), fmt, Path(out), options, load_mask,
                           source=Path(project.folder), progress=progress,
                           should_cancel=should_cancel, check_progress=check_progress)
    result.warnings.extend(dict.fromkeys(notes))  # each mask is read twice: report once
    return result
