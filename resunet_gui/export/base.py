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
from resunet_gui.core.imageio import read_image
from resunet_gui.core.stacks import slice_as_tiff, split_slice_path
from resunet_gui.core.storage import storage_error
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
    simplify_px: float = 0.5      # Douglas-Peucker epsilon of YOLO/labelme polygons, in pixels
    max_points: int = 1000        # cap on the points of one YOLO line
    min_area_px2: float = 1.0     # YOLO/labelme polygons below this area are not written as polygons
    voc_jpeg: bool = False        # VOC: write every image as JPEGImages/<id>.jpg (re-encoding non-JPEGs)
    skip_bad: bool = False        # leave unreadable/invalid files out (listed in the manifest) instead of stopping
    follow_symlinks: bool = False  # export images whose symlink leads outside the project folder
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

    def __init__(self, root: Path, classes: list[ClassSpec], options: ExportOptions,
                 final_root: Path | None = None) -> None:
        self.root = root
        self.final_root = final_root or root  # where the staging folder will be published
        self.classes = sorted(classes, key=lambda c: c.id)
        self.options = options
        self.files: dict[str, str] = {}  # relative posix path -> sha256
        self.ignore_index = IGNORE_INDEX
        self.info: dict[str, Any] = {}  # format-specific facts for manifest["format_info"]
        self.warnings: list[str] = []

    def begin(self) -> None:  # noqa: B027 - optional hook
        """Called once before the first item."""

    @abstractmethod
    def write(self, item: ExportItem) -> None:
        """Write one image and its labels."""

    def finish(self, items: list[tuple[str, str, str | None]]) -> None:  # noqa: B027
        """Called once after the last item with (name, split, group) in write order."""

    def abort(self) -> None:  # noqa: B027 - optional hook
        """Called when the export fails or is cancelled: release open files."""

    def _target(self, rel: str) -> Path:
        path = (self.root / rel).resolve()
        if self.root.resolve() not in path.parents:
            raise ExportError(f"refusing to write outside the export folder: {rel}")
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def put_bytes(self, rel: str, data: bytes) -> None:
        target = self._target(rel)
        try:
            target.write_bytes(data)
        except OSError as exc:  # e.g. disk full: the message names the file and folder
            raise storage_error(exc, target) from None
        self.files[rel] = hashlib.sha256(data).hexdigest()

    def put_text(self, rel: str, text: str) -> None:
        self.put_bytes(rel, text.encode("utf-8"))

    def put_json(self, rel: str, obj: Any, indent: int | None = 2) -> None:
        self.put_text(rel, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")

    def put_stream(self, rel: str) -> HashingWriter:
        """A text file written piece by piece (large JSON), hashed as it is written."""
        return HashingWriter(self, rel, self._target(rel))

    def put_copy(self, rel: str, src: Path) -> None:
        """Copy a file byte for byte, hashing it on the way (a slice of a stack: its pixels)."""
        if split_slice_path(src) is not None:
            self.put_bytes(rel, slice_as_tiff(read_image(src).raw))
            return
        digest = hashlib.sha256()
        target = self._target(rel)
        try:
            with open(src, "rb") as fin, open(target, "wb") as fout:
                while chunk := fin.read(1 << 20):
                    digest.update(chunk)
                    fout.write(chunk)
        except OSError as exc:
            if exc.filename:  # open() failed: its message names the file already
                raise
            raise storage_error(exc, target) from None  # e.g. disk full while writing
        self.files[rel] = digest.hexdigest()


class HashingWriter:
    """Context manager: ``write(text)`` appends UTF-8 text and updates the file's sha256."""

    def __init__(self, writer: Writer, rel: str, path: Path) -> None:
        self._writer, self._rel = writer, rel
        self._file = open(path, "wb")  # noqa: SIM115 - closed in __exit__
        self._digest = hashlib.sha256()

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self._digest.update(data)
        self._file.write(data)

    def __enter__(self) -> HashingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()
        self._writer.files[self._rel] = self._digest.hexdigest()


def exported_classes(classes: list[ClassSpec]) -> list[ClassSpec]:
    """Classes that get a category/label in polygon formats: not background-named 0, not 255."""
    bg = background_id(classes)
    return [c for c in sorted(classes, key=lambda c: c.id) if c.id != bg and c.id != IGNORE_INDEX]


def remove_tree(path: Path) -> None:
    """Best-effort removal of a staging or old folder."""
    shutil.rmtree(path, ignore_errors=True)
