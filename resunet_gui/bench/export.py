"""``resunet-gui bench --export``: time to export a dataset to COCO RLE.

``--export-data DIR`` times a real dataset (e.g. cvc-clinicdb, 612 images); without it a
synthetic dataset of ``--export-images`` 384x288 blob images is made. The dataset is copied
to a temporary folder first (the original may be read-only and opening a project may create
``.resunet/``); only the export itself is timed.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Literal

import numpy as np

TARGETS: dict[str, float] = {}  # a figure to compare between versions, no stated target


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--export-data", type=Path, default=None, metavar="DIR",
                        help="dataset to export (default: a synthetic one)")
    parser.add_argument("--export-images", type=int, default=200, metavar="N",
                        help="images in the synthetic dataset (default 200)")
    parser.add_argument("--export-format", default="coco", metavar="FMT",
                        help="format to time (default coco)")
    parser.add_argument("--export-coco-mode", default="rle", choices=("rle", "polygon"),
                        help="COCO segmentation encoding to time (%(default)s)")
    parser.add_argument("--export-repeat", type=int, default=1, metavar="N",
                        help="exports to time (median reported)")


def make_synthetic_dataset(folder: Path, n: int, height: int = 288, width: int = 384) -> Path:
    """``n`` noisy images with a few bright discs each, masks in the dataset layout."""
    import cv2

    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        mask = np.zeros((height, width), np.uint8)
        for _ in range(int(rng.integers(1, 6))):
            centre = (int(rng.integers(20, width - 20)), int(rng.integers(20, height - 20)))
            cv2.circle(mask, centre, int(rng.integers(5, 30)), 1, -1)
        image = (rng.random((height, width)) * 80).astype(np.uint8) + mask * 150
        cv2.imwrite(str(folder / "images" / f"s{i:04d}.png"), image)
        cv2.imwrite(str(folder / "masks" / f"s{i:04d}.png"), mask)
    return folder


def _copy(data: Path | None, tmp: Path, synthetic_images: int) -> Path:
    from resunet_gui.core.errors import ExportError

    if data is None:
        return make_synthetic_dataset(tmp / "synthetic", max(1, synthetic_images))
    if not (data / "images").is_dir():
        raise ExportError(f"benchmark dataset not found at {data} (pass --export-data DIR)")
    src = tmp / data.name
    shutil.copytree(data, src)
    for p in [src, *src.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    return src


def run(args: argparse.Namespace) -> list[str]:
    from resunet_gui.core.project import Project
    from resunet_gui.export import ExportOptions, export_project

    data = getattr(args, "export_data", None)
    fmt = getattr(args, "export_format", None) or "coco"
    mode: Literal["rle", "polygon"] = (
        "polygon" if getattr(args, "export_coco_mode", None) == "polygon" else "rle")
    repeat = max(1, int(getattr(args, "export_repeat", None) or 1))
    with tempfile.TemporaryDirectory(prefix="resunet-bench-export-") as tmp:
        src = _copy(None if data is None else Path(data), Path(tmp),
                    int(getattr(args, "export_images", None) or 200))
        times = []
        with Project.open(src) as project:
            for i in range(repeat):
                out = Path(tmp) / f"out{i}"
                t0 = time.perf_counter()
                result = export_project(project, fmt, out, ExportOptions(include="all", coco_mode=mode))
                times.append(time.perf_counter() - t0)
                shutil.rmtree(out)
        median = statistics.median(times)
        report = {
            "bench": "export", "dataset": src.name, "format": fmt, "coco_mode": mode,
            "images": result.images, "files": result.files, "mib": round(result.bytes / 2**20, 1),
            "seconds": round(median, 3), "ms_per_image": round(1e3 * median / result.images, 2),
            "runs": [round(t, 3) for t in times],
        }
    print(f"export {src.name} ({report['images']} images) to {fmt} {mode}: {median:.2f} s "
          f"({report['ms_per_image']:.1f} ms/image, {report['mib']} MiB)")
    print(json.dumps(report))
    return []
