"""``resunet-gui bench --export``: time to export cvc-clinicdb (612 images) to COCO RLE.

The dataset is copied to a temporary folder first (the shared original is read-only and
opening a project may create ``.resunet/``); only the export itself is timed.
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

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "cvc-clinicdb"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--export-data", type=Path, default=DEFAULT_DATA, metavar="DIR",
                        help=f"dataset to export (default {DEFAULT_DATA})")
    parser.add_argument("--export-format", default="coco", metavar="FMT",
                        help="format to time (default coco)")
    parser.add_argument("--export-coco-mode", default="rle", choices=("rle", "polygon"),
                        help="COCO segmentation encoding to time (%(default)s)")
    parser.add_argument("--export-repeat", type=int, default=1, metavar="N",
                        help="exports to time (median reported)")


def run(args: argparse.Namespace) -> int:
    from resunet_gui.core.errors import ExportError
    from resunet_gui.core.project import Project
    from resunet_gui.export import ExportOptions, export_project

    data = Path(getattr(args, "export_data", None) or DEFAULT_DATA)
    fmt = getattr(args, "export_format", None) or "coco"
    mode: Literal["rle", "polygon"] = (
        "polygon" if getattr(args, "export_coco_mode", None) == "polygon" else "rle")
    repeat = max(1, int(getattr(args, "export_repeat", None) or 1))
    if not (data / "images").is_dir():
        raise ExportError(f"benchmark dataset not found at {data} (pass --export-data DIR)")
    with tempfile.TemporaryDirectory(prefix="resunet-bench-export-") as tmp:
        src = Path(tmp) / data.name
        shutil.copytree(data, src)
        for p in [src, *src.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
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
            "bench": "export", "dataset": data.name, "format": fmt, "coco_mode": mode,
            "images": result.images, "files": result.files, "mib": round(result.bytes / 2**20, 1),
            "seconds": round(median, 3), "ms_per_image": round(1e3 * median / result.images, 2),
            "runs": [round(t, 3) for t in times],
        }
    print(f"export {data.name} ({report['images']} images) to {fmt} {mode}: {median:.2f} s "
          f"({report['ms_per_image']:.1f} ms/image, {report['mib']} MiB)")
    print(json.dumps(report))
    return 0
