"""Which label value means "nothing here": what the eraser writes.

A project declares a background class by naming it so (``background``, ``bg``, ...); one
that does not (e.g. CamVid, whose class 0 is "Sky") erases to the ignore value 255,
"unlabelled", never to whatever class happens to have id 0.
"""
from __future__ import annotations

from collections.abc import Iterable

from resunet_gui.core.types import IGNORE_INDEX, ClassSpec

BACKGROUND_NAMES = frozenset({"background", "bg", "_background_", "backdrop"})


def background_class(classes: Iterable[ClassSpec]) -> ClassSpec | None:
    """The class the project declares as background, or None."""
    return next((c for c in classes if c.name.strip().casefold() in BACKGROUND_NAMES), None)


def erase_value(classes: Iterable[ClassSpec]) -> int:
    """Label value the eraser writes: the background class's id, else ``IGNORE_INDEX``."""
    spec = background_class(classes)
    return IGNORE_INDEX if spec is None else spec.id
