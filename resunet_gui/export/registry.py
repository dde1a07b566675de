"""Format registry: writers register themselves with ``@register``; the export pipeline
(``pipeline.py``) looks a format up by name (no if/elif chain).
"""
from __future__ import annotations

import importlib
from typing import TypeVar

from resunet_gui.core.errors import ExportError

from .base import Writer

_BUILTIN = ("png_masks", "coco", "yolo", "voc", "nifti", "labelme", "dicom_seg")
WRITERS: dict[str, type[Writer]] = {}
W = TypeVar("W", bound=type[Writer])


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
