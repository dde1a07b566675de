"""Undo/redo as bounding-box diffs: each step keeps before/after patches of what it changed.

Patches are stored compressed (zlib level 1: fast, and label masks compress very well), as a
single value when uniform, or raw when tiny. A brush stroke's patches may be stored as plain
copies first and compressed later (``History.compact``, called when the GUI is idle): a long
stroke on a huge mask touches a hundred tiles, and compressing them all on release is the
longest pause a brush user feels. The memory budget counts stored bytes; the oldest
steps are dropped when it is exceeded. Undo writes the before patches back, so any sequence of
steps followed by undo-all restores the original arrays bit for bit.
"""
from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from resunet_gui.core.types import BBox

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
_RAW_LIMIT = 1024  # patches this small are kept as raw bytes (compression would not pay)
_CONST_CHECK_MIN = 1 << 16  # check big patches for a single value first (much faster than zlib)


@dataclass(frozen=True, eq=False)
class Patch:
    """One encoded uint8 array: ``kind`` is "raw", "zlib", "const" (``value`` everywhere),
    "ref" (shares a read-only ``array``, e.g. an accepted suggestion: no copy, no compression)
    or "copy" (a private copy not compressed yet: ``settled`` compresses it).
    """

    shape: tuple[int, int]
    kind: str
    data: bytes = b""
    value: int = 0
    array: np.ndarray | None = None

    @classmethod
    def reference(cls, array: np.ndarray) -> Patch:
        """Share ``array`` (which its owner promises never to modify); counts its full size."""
        view = array.view()
        view.flags.writeable = False
        return cls((int(array.shape[0]), int(array.shape[1])), "ref", array=view)

    @classmethod
    def copy_of(cls, array: np.ndarray) -> Patch:
        """A private copy, to be compressed later by ``settled`` (cheap now, compact later)."""
        arr = np.array(array, dtype=np.uint8, copy=True)
        arr.flags.writeable = False
        return cls((int(arr.shape[0]), int(arr.shape[1])), "copy", array=arr)

    def settled(self) -> Patch:
        """This patch in its compact stored form (itself unless it is a pending copy)."""
        if self.kind != "copy" or self.array is None:
            return self
        return Patch.encode(self.array)

    @classmethod
    def constant(cls, shape: tuple[int, int], value: int) -> Patch:
        return cls((int(shape[0]), int(shape[1])), "const", value=int(value))

    @classmethod
    def encode(cls, array: np.ndarray) -> Patch:
        arr = np.ascontiguousarray(array, dtype=np.uint8)
        shape = (int(arr.shape[0]), int(arr.shape[1]))
        if arr.size <= _RAW_LIMIT:
            return cls(shape, "raw", arr.tobytes())
        if arr.size >= _CONST_CHECK_MIN:
            lo = int(arr.min())
            if lo == int(arr.max()):
                return cls(shape, "const", value=lo)
        return cls(shape, "zlib", zlib.compress(arr.data, 1))

    @property
    def nbytes(self) -> int:
        return len(self.data) + 64 + (0 if self.array is None else self.array.nbytes)

    def write_into(self, target: np.ndarray) -> None:
        """Copy the patch into ``target`` (a view of exactly ``shape``)."""
        if target.shape != self.shape:
            raise ValueError(f"patch shape {self.shape} does not match target {target.shape}")
        if self.kind == "const":
            target[...] = self.value
            return
        if self.array is not None:
            target[...] = self.array
            return
        raw = self.data if self.kind == "raw" else zlib.decompress(self.data)
        target[...] = np.frombuffer(raw, np.uint8).reshape(self.shape)

    def decode(self) -> np.ndarray:
        out = np.empty(self.shape, np.uint8)
        self.write_into(out)
        return out


@dataclass(frozen=True)
class Region:
    """Before/after patches of several layers (e.g. labels, provenance) over one bbox."""

    bbox: BBox
    before: dict[str, Patch]
    after: dict[str, Patch]

    @classmethod
    def from_arrays(cls, bbox: BBox, before: Mapping[str, np.ndarray],
                    after: Mapping[str, np.ndarray], *, defer: bool = False) -> Region:
        """Encode the patches now, or with ``defer`` keep copies for ``History.compact``."""
        if set(before) != set(after):
            raise ValueError("before and after must hold the same layers")
        make = Patch.copy_of if defer else Patch.encode
        return cls(bbox, {k: make(v) for k, v in before.items()},
                   {k: make(v) for k, v in after.items()})

    @property
    def pending(self) -> bool:
        return any(p.kind == "copy" for p in (*self.before.values(), *self.after.values()))

    def settled(self) -> Region:
        return Region(self.bbox, {k: p.settled() for k, p in self.before.items()},
                      {k: p.settled() for k, p in self.after.items()})

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.before.values()) + sum(
            p.nbytes for p in self.after.values())


@dataclass
class Step:
    """One undoable user action; its regions never overlap."""

    label: str
    regions: list[Region] = field(default_factory=list)

    @property
    def bbox(self) -> BBox:
        box = BBox(0, 0, 0, 0)
        for region in self.regions:
            box = box.union(region.bbox)
        return box

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes for r in self.regions) + 128

    def settle(self, max_regions: int | None = None) -> int:
        """Compress up to ``max_regions`` pending regions (all when None); returns how many."""
        done = 0
        for i, region in enumerate(self.regions):
            if max_regions is not None and done >= max_regions:
                break
            if region.pending:
                self.regions[i] = region.settled()
                done += 1
        return done

    @property
    def pending(self) -> bool:
        return any(r.pending for r in self.regions)

    def apply(self, layers: Mapping[str, np.ndarray], *, forward: bool) -> None:
        """Write the after (``forward``) or before patches into ``layers``."""
        for region in self.regions:
            patches = region.after if forward else region.before
            for name, patch in patches.items():
                patch.write_into(layers[name][region.bbox.slices])


class History:
    """Bounded undo/redo stacks of :class:`Step`; ``max_bytes`` caps their stored size."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.max_bytes = int(max_bytes)
        self._undo: deque[Step] = deque()
        self._redo: list[Step] = []
        self._uncompressed: list[Step] = []  # steps holding copies, newest last (see compact)
        self._nbytes = 0
        self.dropped = 0  # steps discarded to respect the budget

    @property
    def nbytes(self) -> int:
        return self._nbytes

    @property
    def pending(self) -> int:
        """Steps that still hold uncompressed copies (see ``compact``)."""
        return len(self._uncompressed)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def __len__(self) -> int:
        return len(self._undo)

    def push(self, step: Step) -> None:
        """Record a new step; clears redo; drops the oldest steps while over budget.

        The newest step is always kept, even alone over budget, so the last action stays undoable.
        """
        for old in self._redo:
            self._nbytes -= old.nbytes
        # discarded redo steps need no compression (and are no longer counted)
        self._uncompressed = [s for s in self._uncompressed
                              if not any(s is r for r in self._redo)]
        self._redo.clear()
        # a caller that never compacts keeps at most one step uncompressed: after this only
        # the new step can be, and the budget below never drops the newest step
        self.compact()
        self._undo.append(step)
        if step.pending:
            self._uncompressed.append(step)
        self._nbytes += step.nbytes
        while self._nbytes > self.max_bytes and len(self._undo) > 1:
            self._nbytes -= self._undo.popleft().nbytes
            self.dropped += 1

    def compact(self, max_regions: int | None = None) -> bool:
        """Compress pending copies (at most ``max_regions`` regions, all when None), newest
        step first; True while some remain, so an idle loop can call it in slices."""
        budget = max_regions
        while self._uncompressed and (budget is None or budget > 0):
            step = self._uncompressed[-1]
            before = step.nbytes
            done = step.settle(budget)
            self._nbytes += step.nbytes - before
            if not step.pending:
                self._uncompressed.pop()
            if budget is not None:
                budget -= done
        return bool(self._uncompressed)

    def undo(self, layers: Mapping[str, np.ndarray]) -> Step | None:
        """Restore the before patches of the last step into ``layers``; None if nothing to undo."""
        if not self._undo:
            return None
        step = self._undo.pop()
        step.apply(layers, forward=False)
        self._redo.append(step)
        return step

    def redo(self, layers: Mapping[str, np.ndarray]) -> Step | None:
        """Re-apply the after patches of the last undone step; None if nothing to redo."""
        if not self._redo:
            return None
        step = self._redo.pop()
        step.apply(layers, forward=True)
        self._undo.append(step)
        return step

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self._uncompressed.clear()
        self._nbytes = 0
