"""Finished tiles of suggestions that were interrupted, kept so they are not computed twice.

A 6000x6000 suggestion on the CPU takes minutes; when the user switches to another image
the running one is cancelled. Its weighted sums so far (``PartialTiles``) are kept per
(image, model version) and the next request for the same image resumes at the first
unfinished tile. Memory is bounded: least recently used entries go first, and an entry
larger than the whole budget is not kept.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_BYTES = 1 << 30


@dataclass
class PartialTiles:
    geometry: tuple[int, ...]  # (h, w, tile h, tile w, tiles): must match to resume
    acc: Any  # torch.Tensor K x H x W, weighted probability sums (weights follow from geometry)
    done: int  # tiles finished, in layout order

    @property
    def nbytes(self) -> int:
        return int(self.acc.element_size() * self.acc.nelement())


class TileCache:
    """Thread-safe LRU of ``PartialTiles`` by key, at most ``max_bytes`` in all."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, PartialTiles] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: Hashable, partial: PartialTiles) -> bool:
        """Keep ``partial``; False when it alone exceeds the budget (then it is dropped)."""
        if partial.nbytes > self.max_bytes:
            return False
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = partial
            while self.nbytes > self.max_bytes:
                self._items.popitem(last=False)
        return True

    def take(self, key: Hashable, geometry: tuple[int, ...]) -> PartialTiles | None:
        """Remove and return the entry for ``key`` if its tile layout is ``geometry``."""
        with self._lock:
            partial = self._items.pop(key, None)
        return partial if partial is not None and partial.geometry == geometry else None

    def retain(self, keep: Callable[[Hashable], bool]) -> None:
        """Drop every entry whose key ``keep`` rejects (e.g. another model version's)."""
        with self._lock:
            for key in [k for k in self._items if not keep(k)]:
                del self._items[key]

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self._items.values())
