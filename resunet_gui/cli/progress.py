"""A one-line stderr progress bar shared by the headless commands.

On a terminal the line is redrawn in place (carriage return); into a file or a pipe (CI
logs, ``2> log``) it writes plain lines instead, at most one per ``log_interval_s``, and
never a carriage-return frame.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Callable ``(done, total)``, redrawn at most ten times a second, with an ETA."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30,
                 log_interval_s: float = 10.0) -> None:
        self.label, self._stream, self.width = label, stream, width
        self.log_interval_s = log_interval_s
        self.t0 = time.perf_counter()
        self.last = 0.0

    @property
    def stream(self) -> TextIO:
        # Looked up per call: sys.stderr may be replaced after construction (tests, redirects).
        return self._stream if self._stream is not None else sys.stderr

    def _interactive(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty is not None and isatty())

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        interactive = self._interactive()
        # a log gets its first line after one interval, a terminal at once
        since = now - (self.last if interactive or self.last else self.t0)
        if done < total and since < (0.1 if interactive else self.log_interval_s):
            return
        self.last = now
        elapsed = now - self.t0
        eta = elapsed / done * (total - done) if done else 0.0
        if not interactive:
            self.stream.write(f"{self.label} {done}/{total} {elapsed:.1f}s eta {eta:.0f}s\n")
            self.stream.flush()
            return
        filled = int(self.width * done / max(total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total} {elapsed:5.1f}s eta {eta:4.0f}s")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()
