"""Cap torch's intra-op threads while the user interacts, restore them when idle.

torch's thread count is process-global, so only the thread that owns the model (the model
service worker) should apply the cap, between pieces of work.
"""
from __future__ import annotations


class ThreadCap:
    """Applies ``1`` thread while interactive and the saved count otherwise."""

    def __init__(self) -> None:
        self.interactive = False
        self._applied: int | None = None
        self._saved: int | None = None

    def apply(self) -> None:
        want = 1 if self.interactive else None
        if want == self._applied:
            return
        import torch

        if want is not None:
            self._saved = torch.get_num_threads()
            torch.set_num_threads(want)
        elif self._saved is not None:
            torch.set_num_threads(self._saved)
        self._applied = want

    def restore(self) -> None:
        if self._applied is not None and self._saved is not None:
            import torch

            torch.set_num_threads(self._saved)
            self._applied = None
