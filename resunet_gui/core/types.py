"""Plain data shared by every layer."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

IGNORE_INDEX = 255


class ImageStatus(str, Enum):
    NEW = "new"
    SUGGESTED = "suggested"
    IN_PROGRESS = "in_progress"
    DONE = "done"


@dataclass(frozen=True)
class ClassSpec:
    """One label class; ``id`` is the value stored in mask PNGs."""

    id: int
    name: str
    color: tuple[int, int, int]
    key: str | None = None

    def to_dict(self, with_key: bool = False) -> dict[str, Any]:
        """The JSON form used by classes.json, checkpoints and exports (``key``: the
        project's own state only)."""
        out: dict[str, Any] = {"id": self.id, "name": self.name, "color": list(self.color)}
        if with_key:
            out["key"] = self.key
        return out


@dataclass(frozen=True)
class BBox:
    """Half-open pixel rectangle ``[y0, y1) x [x0, x1)``."""

    y0: int
    x0: int
    y1: int
    x1: int

    @property
    def empty(self) -> bool:
        return self.y1 <= self.y0 or self.x1 <= self.x0

    @property
    def height(self) -> int:
        return max(0, self.y1 - self.y0)

    @property
    def width(self) -> int:
        return max(0, self.x1 - self.x0)

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def union(self, other: BBox | None) -> BBox:
        if other is None or other.empty:
            return self
        if self.empty:
            return other
        return BBox(min(self.y0, other.y0), min(self.x0, other.x0),
                    max(self.y1, other.y1), max(self.x1, other.x1))

    def clip(self, height: int, width: int) -> BBox:
        return BBox(max(0, self.y0), max(0, self.x0), min(height, self.y1), min(width, self.x1))


@dataclass
class Normalization:
    """Per-channel mean/std applied to images scaled to [0, 1]."""

    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)


DEFAULT_CLASSES: tuple[ClassSpec, ...] = (
    ClassSpec(0, "background", (0, 0, 0), "1"),
    ClassSpec(1, "foreground", (255, 0, 0), "2"),
)


@dataclass
class ImageEntry:
    """Per-image project state, as stored in ``.resunet/project.json``."""

    stem: str
    relpath: str
    status: ImageStatus = ImageStatus.NEW
    model_version: str | None = None
    edits: int = 0
    corrected_fraction: float | None = None
    split: str | None = None
    group: str | None = None
    created: float = 0.0
    updated: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
