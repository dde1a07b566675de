"""Tiny synthetic projects for the engine tests: bright discs on dark noise."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np


def make_blob_project(folder: Path, n: int = 5, size: int = 64, stem: str = "im",
                      n_test: int | None = None) -> Path:
    """``n`` images with masks in the dataset layout; with ``n_test``, the last ``n_test`` go
    to the test split of a ``split.csv`` (one group per image)."""
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    rng = np.random.default_rng(0)
    rows = ["stem,split,group"]
    for i in range(n):
        m = np.zeros((size, size), np.uint8)
        cv2.circle(m, tuple(int(v) for v in rng.integers(15, size - 15, 2)), 10, 1, -1)
        img = (rng.random((size, size)) * 80).astype(np.uint8)
        img[m == 1] += 150
        cv2.imwrite(str(folder / "images" / f"{stem}{i}.png"), img)
        cv2.imwrite(str(folder / "masks" / f"{stem}{i}.png"), m)
        if n_test is not None:
            rows.append(f"{stem}{i},{'train' if i < n - n_test else 'test'},g{i}")
    if n_test is not None:
        (folder / "split.csv").write_text("\n".join(rows) + "\n")
    (folder / "classes.json").write_text(json.dumps({"classes": [
        {"id": 0, "name": "background", "color": [0, 0, 0]},
        {"id": 1, "name": "blob", "color": [255, 0, 0]}]}))
    return folder

