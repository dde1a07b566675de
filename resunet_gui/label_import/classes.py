"""Source class names -> project class ids; a name the project lacks becomes a new class.

Matching is by name (exact, then ignoring case and surrounding spaces). "background"-like
names mean "no class here": the project's background class (class 0 named so) or, in a
project without one (CamVid's class 0 is Sky), the ignore value, like unlabelled pixels.
Ignore-like names ("__ignore__", "ignore", "void") go to the ignore value 255. A new class
is created when a label first uses it (so declared but unused names add nothing), gets the
next free id (existing masks keep their meaning) and is saved through ``add`` before any
mask that uses it is written.
"""
from __future__ import annotations

from collections.abc import Callable

from resunet_gui.core.types import IGNORE_INDEX, ClassSpec

from .base import BACKGROUND_NAMES, IGNORE_NAMES, LabelImportError

# distinct colours for classes added by an import (Glasbey-like, skipping black)
_COLORS = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
           (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
           (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
           (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128), (128, 128, 128))


def background_id(classes: list[ClassSpec]) -> int | None:
    """Id of the class meaning "nothing here": only a class 0 *named* like background."""
    for c in classes:
        if c.id == 0 and c.name.strip().lower() in BACKGROUND_NAMES:
            return 0
    return None


def fill_value(classes: list[ClassSpec], ignore_index: int | None) -> int:
    """Value for pixels no shape covers: background if the project has one, else ignore."""
    bg = background_id(classes)
    if bg is not None:
        return bg
    return IGNORE_INDEX if ignore_index is None else ignore_index


def _free_id(taken: set[int]) -> int:
    start = max((i for i in taken if i < IGNORE_INDEX), default=-1) + 1
    for cid in [*range(start, IGNORE_INDEX), *range(0, start)]:
        if cid not in taken:
            return cid
    raise LabelImportError("the project cannot hold more classes (ids 0-254 are all used)")


class ClassMap:
    """Resolves source class names to project ids; ``fill`` is for unlabelled pixels."""

    def __init__(self, classes: list[ClassSpec], ignore_index: int | None,
                 colors: dict[str, tuple[int, int, int]],
                 add: Callable[[ClassSpec], None]) -> None:
        self.fill = fill_value(classes, ignore_index)
        self.ignore = IGNORE_INDEX if ignore_index is None else ignore_index
        self._exact = {c.name: c.id for c in classes}
        self._loose = {c.name.strip().lower(): c.id for c in reversed(classes)}
        self._taken = {c.id for c in classes}
        self._colors, self._add = colors, add
        self.added: list[ClassSpec] = []

    @property
    def project_ids(self) -> frozenset[int]:
        return frozenset(self._taken)

    def id_of(self, name: str) -> int:
        if name in self._exact:
            return self._exact[name]
        key = name.strip().lower()
        if key in self._loose:
            cid = self._loose[key]
        elif key in IGNORE_NAMES:
            cid = self.ignore
        elif key in BACKGROUND_NAMES:
            cid = self.fill
        else:
            cid = self._new_class(name)
        self._exact[name] = cid
        return cid

    def _new_class(self, name: str) -> int:
        cid = _free_id(self._taken)
        color = self._colors.get(name, _COLORS[len(self.added) % len(_COLORS)])
        spec = ClassSpec(cid, name.strip() or f"class {cid}", color, None)
        self._add(spec)  # saved before any mask uses the id
        self._taken.add(cid)
        self._loose[name.strip().lower()] = cid
        self.added.append(spec)
        return cid
