"""Source class names -> project class ids; names the project lacks become new classes.

Matching is by name (exact, then ignoring case and surrounding spaces). "background"-like
names mean "no class here": the project's background class (class 0 named so) or, in a
project without one (CamVid's class 0 is Sky), the ignore value, like unlabelled pixels.
Ignore-like names ("__ignore__", "ignore", "void") go to the ignore value 255. A name the
project lacks becomes a new class with the next free id, so existing masks keep their
meaning.
"""
from __future__ import annotations

from resunet_gui.core.types import IGNORE_INDEX, ClassSpec

from .base import BACKGROUND_NAMES, IGNORE_NAMES, ClassMap, LabelImportError

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


def plan_classes(project: list[ClassSpec], ignore_index: int | None, names: list[str],
                 colors: dict[str, tuple[int, int, int]]) -> tuple[ClassMap, list[ClassSpec]]:
    """The name -> id map for ``names`` and the classes to add to the project (maybe none)."""
    exact = {c.name: c.id for c in project}
    loose = {c.name.strip().lower(): c.id for c in reversed(project)}
    fill = fill_value(project, ignore_index)
    ignore = IGNORE_INDEX if ignore_index is None else ignore_index
    taken = {c.id for c in project}
    ids: dict[str, int] = {}
    added: list[ClassSpec] = []
    for name in names:
        key = name.strip().lower()
        if name in exact:
            ids[name] = exact[name]
        elif key in loose:
            ids[name] = loose[key]
        elif key in IGNORE_NAMES:
            ids[name] = ignore
        elif key in BACKGROUND_NAMES:
            ids[name] = fill
        else:
            cid = _free_id(taken)
            taken.add(cid)
            color = colors.get(name, _COLORS[len(added) % len(_COLORS)])
            added.append(ClassSpec(cid, name.strip() or f"class {cid}", color, None))
            exact[name] = loose[key] = ids[name] = cid
    return ClassMap(ids, fill, ignore, frozenset(c.id for c in [*project, *added])), added
