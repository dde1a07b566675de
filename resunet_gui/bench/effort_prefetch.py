"""Benchmark piece that needs the window: opening an image whose suggestion is cached.

Used by ``resunet-gui bench --effort`` (bench/effort.py).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np


def prefetched_open_ms(folder: Path, repeats: int, median_ms: Callable) -> dict:
    """Window without a model: the next image's suggestion is cached (as a prefetch leaves
    it); time from "next image" to the suggestion layer holding it."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from resunet_gui.qt.editor import Suggestion
    from resunet_gui.qt.main_window import MainWindow
    from resunet_gui.qt.preferences import Preferences

    app = QApplication.instance() or QApplication([])
    window = MainWindow(Preferences(folder / "prefs.ini"))  # no model: nothing else runs
    window.show()
    window.open_folder(folder)
    mask = np.zeros((1024, 1024), np.uint8)
    turn = [0]

    def open_next() -> None:
        i = turn[0] = turn[0] + 1
        nxt = window.images.stems[i % 2]
        window.editor.suggestions[nxt] = Suggestion(nxt, mask, 0.1, None, "v1")
        window.step(1 if i % 2 else -1)
        app.processEvents()
        assert window.canvas.suggestion_layer.array is not None

    out = median_ms(open_next, repeats)
    window.close()
    return out
