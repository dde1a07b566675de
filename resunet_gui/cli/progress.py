"""A one-line stderr progress bar shared by the headless commands."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Callable ``(done, total)``, redrawn at most ten times a second, with an ETA."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label, self._stream, self.width = label, stream, width
        self.t0 = time.perf_counter()
        self.last = 0.0

    @property
    def stream(self) -> TextIO:
        # Looked up per call: sys.stderr may be replaced after construction (tests, redirects).
        return self._stream if self._stream is not None else sys.stderr

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        filled = int(self.width * done / max(total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = now - self.t0
        eta = elapsed / done * (total - done) if done else 0.0
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total} {elapsed:5.1f}s eta {eta:4.0f}s")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()
