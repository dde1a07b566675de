"""Reader registry and the import pipeline: scan, match stems, map classes, write masks.

Readers register themselves with ``@register``; ``import_labels`` looks a format up by name
(case-insensitive) and drives it. Every write goes through the Project API (atomic files,
the project's lock). An image that already has a mask is skipped and reported unless
``replace`` is set; then the old mask is first copied to ``.resunet/import-backup-*/``.
"""
from __future__ import annotations

import contextlib
import importlib
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from resunet_gui.core.errors import ImageReadError
from resunet_gui.core.storage import atomic_write_bytes, atomic_write_png
from resunet_gui.core.types import ImageStatus

from .base import ImportResult, LabelFile, LabelImportError, Reader
from .classes import ClassMap
from .files import check_source

_BUILTIN = ("coco", "yolo", "labelme", "voc", "nifti", "png")
READERS: dict[str, type[Reader]] = {}
R = TypeVar("R", bound=type[Reader])
ALREADY_LABELLED = "already has a mask (or unsaved edits), not replaced"
Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


def register(cls: R) -> R:
    """Class decorator: make a reader available under ``cls.name``."""
    READERS[cls.name] = cls
    return cls


def _load_builtin() -> None:
    for mod in _BUILTIN:
        importlib.import_module(f"{__package__}.{mod}")


def formats() -> dict[str, str]:
    """Format name -> one-line description, in a stable order (for the CLI and the dialog)."""
    _load_builtin()
    return {name: READERS[name].description for name in sorted(READERS)}


def reader_class(fmt: str) -> type[Reader]:
    _load_builtin()
    try:
        return READERS[fmt.strip().lower()]
    except KeyError:
        raise LabelImportError(f"unknown label format {fmt!r}; choose one of "
                               f"{', '.join(sorted(READERS))}") from None


def _match(project: Any, files: list[LabelFile], result: ImportResult) -> list[LabelFile]:
    """Label files whose stem is a project image, first one per stem; the rest reported."""
    stems = set(project.stems())
    seen: dict[str, str] = {}
    chosen = []
    for item in files:
        item.stem = next((s for s in (item.stem, *item.aliases) if s in stems), item.stem)
        if item.stem not in stems:
            result.not_in_project.append(item.origin)
        elif item.stem in seen:
            result.warnings.append(f"{item.stem}: labelled twice in the source ({seen[item.stem]} "
                                   f"and {item.origin}); the first is used")
        else:
            seen[item.stem] = item.origin
            chosen.append(item)
    return chosen


def _has_labels(project: Any, stem: str) -> bool:
    return project.mask_path(stem).is_file() or project.journal.count(stem) > 0


def _backup(project: Any, stem: str, size: tuple[int, int], folder: Path) -> None:
    """Keep what an import replaces (``--replace`` never loses annotations): the saved mask,
    or, with unsaved journalled edits, the mask as the edits left it."""
    path = project.mask_path(stem)
    if project.journal.count(stem) > 0:
        try:
            mask = project.read_mask(stem)
        except ImageReadError:
            mask = None
        mask = np.zeros(size, np.uint8) if mask is None or mask.shape != size else mask
        project.journal.replay(stem, mask)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_png(folder / path.name, mask)
    elif path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(folder / path.name, path.read_bytes())


def _write(project: Any, reader: Reader, item: LabelFile, classes: ClassMap,
           backup: Path | None, result: ImportResult) -> str | None:
    """Render and save one mask; returns why it was skipped, or None when written."""
    try:
        size = project.image_size(item.stem)
        mask, notes = reader.render(item, size, classes)
    except (LabelImportError, ImageReadError) as exc:
        return str(exc)
    result.warnings.extend(f"{item.stem}: {note}" for note in notes)
    if mask.shape != tuple(size) or mask.dtype != np.uint8:
        return f"labels are {mask.shape[1]}x{mask.shape[0]}, the image is {size[1]}x{size[0]}"
    if backup is not None:
        _backup(project, item.stem, tuple(size), backup)
        with contextlib.suppress(ImageReadError):  # a corrupt old mask is replaced all the same
            project.read_mask(item.stem)  # take the on-disk version: save_mask checks it
        project.journal.clear(item.stem)
    project.save_mask(item.stem, mask)
    project.set_status(item.stem, ImageStatus.DONE)
    return None


def import_labels(project: Any, fmt: str, source: Path | str, *, replace: bool = False,
                  progress: Progress | None = None,
                  should_cancel: Cancel | None = None) -> ImportResult:
    """Import the labels in ``source`` (format ``fmt``) into an open, writable project."""
    t0 = time.perf_counter()
    cls = reader_class(fmt)
    if project.read_only:
        raise LabelImportError(f"the project is open read-only ({project.read_only_reason}); "
                               "nothing was imported")
    reader = cls(check_source(Path(source)))
    scan = reader.scan()
    result = ImportResult(source=Path(source), format=cls.name, warnings=list(scan.warnings))
    todo = []
    for item in _match(project, scan.files, result):
        if not replace and _has_labels(project, item.stem):
            result.skipped.append((item.stem, ALREADY_LABELLED))
        else:
            todo.append(item)
    if not todo:
        if not result.skipped:
            raise LabelImportError(f"none of the {len(scan.files)} labelled images in {source} "
                                   "is an image of this project (matched by file name stem)")
        return _done(result, t0)
    classes = ClassMap(list(project.classes), project.ignore_index, scan.colors,
                       lambda spec: project.set_classes([*project.classes, spec]))
    result.added_classes = classes.added
    backup = None
    if replace:
        backup = project.state_dir / f"import-backup-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    with project.batch():
        for i, item in enumerate(todo):
            if should_cancel is not None and should_cancel():
                result.cancelled = True
                break
            why = _write(project, reader, item, classes, backup, result)
            if why is None:
                result.imported.append(item.stem)
            else:
                result.skipped.append((item.stem, why))
            if progress is not None:
                progress(i + 1, len(todo))
    return _done(result, t0)


def _done(result: ImportResult, t0: float) -> ImportResult:
    result.seconds = time.perf_counter() - t0
    return result
