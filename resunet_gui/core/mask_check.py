"""The one check every reader of a mask uses: same size as its image, values are classes.

A mask of another size than its image (edited elsewhere, paired by name with the wrong
image) must never be edited, trained on or exported as if it fitted. A value that is no
class id (7 in a two-class project) is reported with the image and the values, then either
refused (export's default) or treated as ignore (training: those pixels teach nothing).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np

from resunet_gui.core.errors import MaskError
from resunet_gui.core.types import IGNORE_INDEX

UnknownValues = Literal["fail", "ignore", "keep"]
_SHOWN = 8  # values quoted in a message


def check_size(stem: str, mask: np.ndarray, image_hw: tuple[int, int]) -> None:
    """MaskError naming both sizes (width x height) unless ``mask`` is ``image_hw``."""
    h, w = int(image_hw[0]), int(image_hw[1])
    if mask.shape[:2] != (h, w):
        raise MaskError(f"mask of {stem} is {mask.shape[1]}x{mask.shape[0]} but its image is "
                        f"{w}x{h}; the image is skipped (fix or remove masks/{stem}.png)")


def unknown_values(mask: np.ndarray, class_ids: Iterable[int], ignore_index: int | None
                   ) -> list[int]:
    """Sorted mask values that are neither a class id nor the ignore value."""
    present = np.flatnonzero(np.bincount(np.asarray(mask, np.uint8).ravel(), minlength=256))
    known = {int(c) for c in class_ids}
    if ignore_index is not None:
        known.add(int(ignore_index))
    return [int(v) for v in present if int(v) not in known]


def describe_unknown(stem: str, values: list[int], class_ids: Iterable[int]) -> str:
    """E.g. "mask of a has value 7 that is not a class (classes: 0, 1)"."""
    shown = ", ".join(str(v) for v in values[:_SHOWN]) + (" ..." if len(values) > _SHOWN else "")
    ids = ", ".join(str(c) for c in sorted(class_ids))
    what = f"values {shown} that are" if len(values) > 1 else f"value {shown} that is"
    return f"mask of {stem} has {what} not a class (classes: {ids})"


def check_mask(stem: str, mask: np.ndarray, image_hw: tuple[int, int], class_ids: Iterable[int],
               ignore_index: int | None, unknown: UnknownValues = "fail"
               ) -> tuple[np.ndarray, str | None]:
    """(mask, warning): size checked; values outside the classes refused (``fail``),
    turned into the ignore value (``ignore``, on a copy) or only reported (``keep``)."""
    check_size(stem, mask, image_hw)
    ids = [int(c) for c in class_ids]
    bad = unknown_values(mask, ids, ignore_index)
    if not bad:
        return mask, None
    message = describe_unknown(stem, bad, ids)
    if unknown == "fail":
        raise MaskError(f"{message}; fix the mask, or export with --unknown-values ignore "
                        "to treat them as ignore")
    if unknown == "ignore":
        fill = IGNORE_INDEX if ignore_index is None else int(ignore_index)
        mask = np.where(np.isin(mask, bad), np.uint8(fill), mask).astype(np.uint8)
        return mask, f"{message}; treated as ignore ({fill})"
    return mask, message
