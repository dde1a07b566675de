"""``resunet-gui bench --project``: what one status change costs in a big project.

Builds a plain folder of N (default 10,000) placeholder image files (opening never decodes
them), opens it, then times M single status changes (each one durable on its own, as when
an annotator marks an image done) and reports the median, plus project.json's size, the
time to close (the state log is folded into project.json) and to open again.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

# at most: one durable status change must not be felt (the state log makes it ~6 ms)
TARGETS = {"ms_per_status_change": 20.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project-images", type=int, default=10_000, metavar="N",
                        help="images in the benchmark project (default 10000)")
    parser.add_argument("--project-changes", type=int, default=50, metavar="M",
                        help="status changes to time (median reported, default 50)")
    parser.add_argument("--project-dir", type=Path, default=None, metavar="DIR",
                        help="where to build the project (default: a temporary folder); fsync "
                             "cost depends on the disk")


def _build(folder: Path, n: int) -> None:
    folder.mkdir()
    for i in range(n):
        (folder / f"img{i:05d}.png").write_bytes(b"\x89PNG\r\n\x1a\n")


def measure(folder: Path, images: int, changes: int) -> dict:
    """Figures for one project of ``images`` images; ``changes`` timed status changes."""
    from resunet_gui.core.project import Project

    _build(folder, images)
    Project.open(folder).close()  # first open writes the full state once
    project = Project.open(folder)
    stems = project.stems()
    times = []
    for i in range(changes):
        t0 = time.perf_counter()
        project.set_status(stems[(i * 197) % len(stems)], "done" if i % 2 else "in_progress")
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    project.close()
    close_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    Project.open(folder, read_only=True).close()
    open_s = time.perf_counter() - t0
    state = folder / ".resunet" / "project.json"
    return {"bench": "project", "images": images, "changes": changes,
            "ms_per_status_change": round(1e3 * statistics.median(times), 2),
            "ms_max": round(1e3 * max(times), 2),
            "project_json_mib": round(state.stat().st_size / 2**20, 2),
            "close_ms": round(1e3 * close_s, 1), "open_ms": round(1e3 * open_s, 1)}


def run(args: argparse.Namespace) -> list[str]:
    images = max(1, int(getattr(args, "project_images", None) or 10_000))
    changes = max(1, int(getattr(args, "project_changes", None) or 50))
    parent = getattr(args, "project_dir", None)
    with tempfile.TemporaryDirectory(prefix="resunet-bench-project-", dir=parent) as tmp:
        report = measure(Path(tmp) / "project", images, changes)
    print(f"{images} images: one status change {report['ms_per_status_change']:.2f} ms "
          f"(median of {changes}, max {report['ms_max']:.1f} ms); project.json "
          f"{report['project_json_mib']} MiB; close {report['close_ms']:.0f} ms, "
          f"open {report['open_ms']:.0f} ms")
    print(json.dumps(report))
    over = report["ms_per_status_change"] > TARGETS["ms_per_status_change"]
    return ["ms_per_status_change"] if over else []
