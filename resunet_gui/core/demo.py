"""A small synthetic project so ``make run`` has something to open on first use.

Twelve 512x512 images of textured cells on a noisy background, ``classes.json``
(background, cell), ``split.csv``, and masks for half of them so training can start.
Generated from fixed seeds: re-running fills in whatever is missing and never touches
files that exist (a user's edits to the demo are kept).
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from resunet_gui.core.storage import atomic_write_bytes, atomic_write_png

N_IMAGES = 12
SIZE = 512
CLASSES = {
    "classes": [{"id": 0, "name": "background", "color": [0, 0, 0]},
                {"id": 1, "name": "cell", "color": [255, 160, 0]}],
    "ignore_index": 255,
}


def demo_sample(index: int, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 image, uint8 mask) for demo image ``index``; deterministic."""
    rng = np.random.default_rng(1000 + index)
    noise = rng.normal(0, 1, (size, size)).astype(np.float32)
    bg = 70 + 18 * cv2.GaussianBlur(noise, (0, 0), 3) * 3 + rng.normal(0, 6, (size, size))
    mask = np.zeros((size, size), np.uint8)
    texture = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), 1.5)
    img = bg.astype(np.float32)
    for _ in range(int(rng.integers(6, 14))):
        r = int(rng.integers(18, 46))
        cx, cy = (int(v) for v in rng.integers(r, size - r, 2))
        axes = (r, int(r * rng.uniform(0.7, 1.0)))
        blob = np.zeros((size, size), np.uint8)
        cv2.ellipse(blob, (cx, cy), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        inside = blob.astype(bool)
        img[inside] = 150 + 35 * texture[inside] * 3 + rng.normal(0, 5, int(inside.sum()))
        mask[inside] = 1
    tint = np.array([1.0, 0.92, 0.85], np.float32) * float(rng.uniform(0.9, 1.1))
    rgb = np.clip(img[:, :, None] * tint, 0, 255).astype(np.uint8)
    return rgb, mask


def make_demo_project(folder: str | Path) -> Path:
    """Create (or complete) the demo project in ``folder`` and return its path."""
    folder = Path(folder).expanduser()
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    if not (folder / "classes.json").exists():
        atomic_write_bytes(folder / "classes.json", json.dumps(CLASSES, indent=1).encode())
    if not (folder / "split.csv").exists():
        rows = [f"cells_{i:02d},{'val' if i % 4 == 3 else 'train'},demo" for i in range(N_IMAGES)]
        atomic_write_bytes(folder / "split.csv", ("stem,split,group\n" + "\n".join(rows) + "\n").encode())
    for i in range(N_IMAGES):
        image_path = folder / "images" / f"cells_{i:02d}.png"
        if image_path.exists():
            continue
        rgb, mask = demo_sample(i)
        if i % 2 == 0:  # half come pre-labelled so there is something to learn from
            atomic_write_png(folder / "masks" / f"cells_{i:02d}.png", mask)
        atomic_write_png(image_path, rgb)
    return folder
