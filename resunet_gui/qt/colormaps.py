"""Perceptually uniform, colour-blind-safe colour maps from pyqtgraph's bundled data.

The data file is read directly (``importlib.util.find_spec`` does not import the
package): importing pyqtgraph costs over a second, too much for a checkbox.
"""
from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import numpy as np


def _maps_dir() -> Path:
    spec = importlib.util.find_spec("pyqtgraph")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyqtgraph is not installed; it provides the colour map data")
    return Path(next(iter(spec.submodule_search_locations))) / "colors" / "maps"


@cache
def colormap_rgb(name: str = "cividis", n: int = 256) -> np.ndarray:
    """``n`` x 3 uint8 RGB samples of pyqtgraph's ``name`` map (cividis, viridis, ...)."""
    rows = []
    for line in (_maps_dir() / f"{name}.csv").read_text(encoding="utf-8").splitlines():
        data = line.split(";", 1)[0].strip()
        if data:
            rows.append([float(c) for c in data.split(",")[:3]])
    table = np.asarray(rows, np.float64)
    pos = np.linspace(0.0, 1.0, len(table))
    want = np.linspace(0.0, 1.0, n)
    out = np.stack([np.interp(want, pos, table[:, k]) for k in range(3)], axis=1)
    return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)
