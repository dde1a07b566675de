"""COCO export memory stays flat as the number of masks grows (issue 15, item 13)."""
from __future__ import annotations

import tracemalloc
from pathlib import Path

import cv2
import numpy as np

from resunet_gui.cli import main
from resunet_gui.core.types import ClassSpec
from resunet_gui.export import ExportOptions, export_images
from resunet_gui.export.pipeline import SourceImage

CLASSES = [ClassSpec(0, "background", (0, 0, 0)), ClassSpec(1, "a", (255, 0, 0)),
           ClassSpec(2, "b", (0, 255, 0))]


def many_blobs(stem: str) -> np.ndarray:
    rng = np.random.default_rng(int(stem[1:]))
    m = np.zeros((64, 64), np.uint8)
    for k in range(30):
        x, y = (int(v) for v in rng.integers(2, 62, 2))
        m[y:y + 2, x:x + 2] = 1 + k % 2
    return m


def peak_python_bytes(n: int, tmp: Path) -> int:
    image = tmp / "image.png"
    cv2.imwrite(str(image), np.full((64, 64), 128, np.uint8))
    images = [SourceImage(f"m{i}", image, "done") for i in range(n)]
    tracemalloc.start()
    try:
        export_images(images, CLASSES, "coco", tmp / f"out{n}", ExportOptions(split=(1.0, 0.0, 0.0)),
                      many_blobs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_coco_export_memory_does_not_grow_with_the_number_of_annotations(tmp_path: Path) -> None:
    peak_python_bytes(2, tmp_path)  # first use imports modules: not part of the measurement
    small = peak_python_bytes(20, tmp_path)
    large = peak_python_bytes(120, tmp_path)
    # 100 more images = ~5,000 more annotations (about 2.5 MB as Python dicts when held)
    assert large - small < 400_000, (small, large)


def test_bench_export_memory_prints_peak_rss_per_mask_count(capsys) -> None:
    assert main(["bench", "--export-memory", "--memory-masks", "4"]) == 0
    out = capsys.readouterr().out
    assert "COCO export of 4 masks: peak RSS" in out and '"export-memory"' in out
