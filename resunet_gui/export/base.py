"""Plain data and the writer base class every export format implements.

A writer never sees a Project: it gets a staging folder, the classes and one ``ExportItem``
at a time, and records every file it writes (with its sha256) for the manifest.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from resunet_gui.core.errors import ExportError
from resunet_gui.core.types import IGNORE_INDEX, ClassSpec

SPLITS: tuple[str, str, str] = ("train", "val", "test")
BACKGROUND_NAMES = frozenset({"background", "_background_", "bg", "backgr"})


class ExportCancelled(ExportError):
    """The user cancelled; the target folder was left untouched."""


@dataclass(frozen=True)
class ExportOptions:
    """What to export and how; ``split=None`` keeps the project's own split.csv assignment."""

    include: Literal["done", "all"] = "done"
    split: tuple[float, float, float] | None = (0.8, 0.1, 0.1)
    seed: int = 0
    overwrite: bool = False
    coco_mode: Literal["rle", "polygon"] = "rle"
    unknown_values: Literal["fail", "ignore"] = "fail"  # mask values that are no class


@dataclass
class ExportItem:
    """One image to write: ``name`` is the sanitised, unique output file stem."""

    stem: str
    name: str
    image_path: Path
    mask: np.ndarray
    split: str


@dataclass
class ExportResult:
    out: Path
    format: str
    images: int
    split_counts: dict[str, int]
    files: int
    bytes: int
    seconds: float
    manifest: Path
    warnings: list[str] = field(default_factory=list)


def background_id(classes: list[ClassSpec]) -> int | None:
    """Id of the class that means "nothing here" (not annotated by polygon formats), if any.

    Only a class 0 *named* like background counts: CamVid's class 0 is Sky, a real class.
    """
    for c in classes:
        if c.id == 0 and c.name.strip().lower() in BACKGROUND_NAMES:
            return 0
    return None


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, fallback: str = "item", max_len: int = 120) -> str:
    """A file-name-safe stem: no separators, no leading dots, no traversal, bounded length."""
    name = _UNSAFE.sub("_", text.replace("/", "__").replace("\\", "__"))
    name = name.strip("._") or fallback  # no hidden files, no "..", no Windows-trailing dot
    return name[:max_len]


def unique_names(stems: list[str]) -> dict[str, str]:
    """Map each stem to a sanitised name, unique even on case-insensitive file systems."""
    taken: set[str] = set()
    out: dict[str, str] = {}
    for stem in stems:
        base = safe_name(stem, "image")
        name, k = base, 2
        while name.lower() in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name.lower())
        out[stem] = name
    return out


class Writer(ABC):
    """Base of one export format. Subclasses set ``name``/``description``/``ignore_note``.

    Life cycle: ``begin()``, ``write(item)`` per image, ``finish()``; all paths are relative
    to the staging root and go through ``put_*`` so the manifest can hash them.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    ignore_note: ClassVar[str]  # how class 255 (ignore) is represented, for the manifest

    def __init__(self, root: Path, classes: list[ClassSpec], options: ExportOptions) -> None:
        self.root = root
        self.classes = sorted(classes, key=lambda c: c.id)
        self.options = options
        self.files: dict[str, str] = {}  # relative posix path -> sha256
        self.ignore_index = IGNORE_INDEX

    def begin(self) -> None:  # noqa: B027 - optional hook
        """Called once before the first item."""

    @abstractmethod
    def write(self, item: ExportItem) -> None:
        """Write one image and its labels."""

    def finish(self, items: list[tuple[str, str, str | None]]) -> None:  # noqa: B027
        """Called once after the last item with (name, split, group) in write order."""

    def _target(self, rel: str) -> Path:
        path = (self.root / rel).resolve()
        if self.root.resolve() not in path.parents:
            raise ExportError(f"refusing to write outside the export folder: {rel}")
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def put_bytes(self, rel: str, data: bytes) -> None:
        self._target(rel).write_bytes(data)
        self.files[rel] = hashlib.sha256(data).hexdigest()

    def put_text(self, rel: str, text: str) -> None:
        self.put_bytes(rel, text.encode("utf-8"))

    def put_json(self, rel: str, obj: Any, indent: int | None = 2) -> None:
        self.put_text(rel, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")

    def put_copy(self, rel: str, src: Path) -> None:
        """Copy a file byte for byte, hashing it on the way."""
        digest = hashlib.sha256()
        with open(src, "rb") as fin, open(self._target(rel), "wb") as fout:
            while chunk := fin.read(1 << 20):
                digest.update(chunk)
                fout.write(chunk)
        self.files[rel] = digest.hexdigest()


def remove_tree(path: Path) -> None:
    """Best-effort removal of a staging or old folder."""
    shutil.rmtree(path, ignore_errors=True)
