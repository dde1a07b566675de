"""Selection and a reproducible, group-preserving, class-stratified train/val/test split.

Determinism: records are sorted by stem, groups by name, and all randomness comes from one
``numpy.random.Generator(PCG64(seed))``; nothing depends on dict/set iteration order or
on the order the caller passes records in.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from resunet_gui.core.errors import ExportError
from resunet_gui.core.types import ImageStatus

from .base import SPLITS


@dataclass(frozen=True)
class SplitRecord:
    """What the split needs to know about one image."""

    stem: str
    status: str
    group: str | None = None
    classes: tuple[int, ...] = ()  # class ids present in the mask (ignore excluded)


def parse_fractions(text: str) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` -> fractions (a missing test part is 0); ExportError when invalid."""
    try:
        parts = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise ExportError(f"--split must be comma-separated numbers, got {text!r}") from None
    if not 1 <= len(parts) <= 3:
        raise ExportError(f"--split takes 1 to 3 fractions (train,val,test), got {text!r}")
    parts += [0.0] * (3 - len(parts))
    return check_fractions(tuple(parts))


def check_fractions(fr: Sequence[float]) -> tuple[float, float, float]:
    if len(fr) != 3 or any(not np.isfinite(f) or f < 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise ExportError(f"split fractions must be three non-negative numbers summing to 1, got {tuple(fr)}")
    return float(fr[0]), float(fr[1]), float(fr[2])


def select(records: Iterable[SplitRecord], include: str) -> list[SplitRecord]:
    """Records to export, sorted by stem: only ``done`` images unless ``include == "all"``."""
    if include not in ("done", "all"):
        raise ExportError(f"--include must be 'done' or 'all', got {include!r}")
    done = ImageStatus.DONE.value
    chosen = [r for r in records if include == "all" or str(getattr(r.status, "value", r.status)) == done]
    return sorted(chosen, key=lambda r: r.stem)


def assign_splits(records: Iterable[SplitRecord], fractions: Sequence[float],
                  seed: int = 0) -> dict[str, str]:
    """Map stem -> split. Whole groups go to one split; strata are spread proportionally.

    Units (a group, or a lone image) are ordered rarest-class stratum first, larger units
    first, shuffled among equals; each unit then goes to the split with the largest *relative*
    image deficit (a weighted round robin). Consecutive units of a stratum are thus dealt
    across splits in proportion, and small splits are served before big ones fill up.
    """
    fr = np.asarray(check_fractions(fractions))
    recs = sorted(records, key=lambda r: r.stem)
    units: dict[str, list[SplitRecord]] = {}
    for r in recs:
        key = f"g:{r.group}" if r.group not in (None, "") else f"s:{r.stem}"
        units.setdefault(key, []).append(r)
    keys = sorted(units)
    present = {k: sorted({c for r in units[k] for c in r.classes}) for k in keys}
    freq: dict[int, int] = {}
    for k in keys:
        for c in present[k]:
            freq[c] = freq.get(c, 0) + 1
    big = len(keys) + 1

    def stratum(k: str) -> tuple[int, int]:
        cs = present[k]
        return min((freq[c], c) for c in cs) if cs else (big, -1)

    rng = np.random.Generator(np.random.PCG64(seed))
    order = [keys[i] for i in rng.permutation(len(keys))]
    # stable sort: big groups first inside a stratum (they fit only where room is left),
    # the shuffle decides among units of equal size
    order.sort(key=lambda k: (stratum(k), -len(units[k])))
    targets = fr * len(recs)
    counts = np.zeros(3)
    out: dict[str, str] = {}
    for k in order:
        rel = np.where(targets > 0, (targets - counts) / np.where(targets > 0, targets, 1), -np.inf)
        # most relative deficit, then most absolute deficit, then split order
        best = max(range(3), key=lambda s: (rel[s], targets[s] - counts[s], -s))
        counts[best] += len(units[k])
        for r in units[k]:
            out[r.stem] = SPLITS[best]
    return out


def split_counts(assignment: dict[str, str]) -> dict[str, int]:
    return {s: sum(1 for v in assignment.values() if v == s) for s in SPLITS}
