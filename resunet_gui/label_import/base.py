"""Plain data and the reader base class every label format implements.

A reader never sees a Project: ``scan()`` lists the label files it found (with the stem
each belongs to and the class names they use), and ``render()`` turns one of them into a
uint8 mask of project class ids for an image of a given size. The pipeline in
``registry.py`` matches stems, maps class names to ids and writes through the Project API.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from resunet_gui.core.errors import ResunetError
from resunet_gui.core.types import ClassSpec

if TYPE_CHECKING:
    from .classes import ClassMap

BACKGROUND_NAMES = frozenset({"background", "_background_", "bg", "backgr"})
IGNORE_NAMES = frozenset({"__ignore__", "ignore", "_ignore_", "void"})


class LabelImportError(ResunetError):
    """Labels cannot be imported (bad source, unknown format, corrupt or absurd file)."""


@dataclass
class LabelFile:
    """One image's labels in the source: where they are and what the reader needs to render."""

    stem: str
    origin: str  # path (relative to the source) or "file.json#image", for messages
    payload: Any = None
    aliases: tuple[str, ...] = ()  # other stems to try when ``stem`` is not in the project


@dataclass
class Scan:
    """What a reader found: label files and problems on the way.

    ``colors`` optionally gives a source colour per class name (used for new classes).
    """

    files: list[LabelFile]
    colors: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    """Outcome of an import: every image is either imported or listed with a reason."""

    source: Path
    format: str
    imported: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (stem, why)
    not_in_project: list[str] = field(default_factory=list)  # source names without an image
    added_classes: list[ClassSpec] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0


class Reader(ABC):
    """Base of one label format; subclasses set ``name`` and ``description``."""

    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, source: Path) -> None:
        self.source = source

    @abstractmethod
    def scan(self) -> Scan:
        """List the label files and the class names they use; LabelImportError if none."""

    @abstractmethod
    def render(self, item: LabelFile, size: tuple[int, int],
               classes: ClassMap) -> tuple[np.ndarray, list[str]]:
        """uint8 mask of project class ids for an image of ``size`` = (height, width), and
        notes on labels left out (e.g. a polygon of 2 points); LabelImportError if unusable."""
