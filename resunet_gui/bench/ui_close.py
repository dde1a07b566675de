"""``bench --ui`` figure: how long closing the window takes while the model trains.

The window is closed at a moment inside a training step (a fixed delay after a chunk
ended), the way a user closes it without looking; the time is from ``close()`` to its
return, which includes saving the edits and stopping the model service.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from resunet_gui.bench.ui_measures import _pump, _window


def measure_close_while_training(app: Any, tmp: Path, folder: Path, engine_factory_for: Any,
                                 repeats: int = 3, wait_s: float = 600.0) -> dict[str, float]:
    """Median and worst close time over ``repeats`` windows, each closed mid-step."""
    times: list[float] = []
    for i in range(repeats):
        w = _window(tmp / f"close{i}.ini", engine_factory_for)
        w.suggestions.auto_suggest = False
        chunks: list[float] = []
        w.bridge.trainingStatus.connect(
            lambda st, c=chunks: c.append(time.perf_counter()) if st.step else None)
        w.open_folder(folder)
        _pump(app, lambda c=chunks: len(c) >= 2, timeout=wait_s)
        if len(chunks) < 2:
            w.close()
            continue
        step_s = max(0.05, chunks[-1] - chunks[-2])
        end = chunks[-1] + step_s * (0.3 + 0.2 * i)  # well inside the next step
        _pump(app, lambda e=end: time.perf_counter() >= e)
        t = time.perf_counter()
        w.close()
        times.append(time.perf_counter() - t)
        w.deleteLater()
        app.processEvents()
    if not times:
        return {"close_started": 0.0}
    return {"close_started": 1.0, "close_s": float(np.median(times)),
            "close_max_s": float(max(times)), "closes": float(len(times))}
