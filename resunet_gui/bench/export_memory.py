"""``resunet-gui bench --export-memory``: peak memory of a COCO export vs the number of masks.

Each size runs in a fresh interpreter (peak RSS is per process) that exports N synthetic
256x256 masks of ~40 blobs each through the public ``export_images`` API, and prints its
``ru_maxrss``. A flat figure means annotations go to disk as they are made.
``--memory-code DIR`` runs the same measurement against another checkout (e.g. an older
commit) to compare before/after; the child only uses API present in both.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from resunet_gui.core.errors import ResunetError

CHILD = r"""
import resource, sys
from pathlib import Path
import cv2, numpy as np
from resunet_gui.core.types import ClassSpec
from resunet_gui.export import ExportOptions, export_images
from resunet_gui.export.pipeline import SourceImage

n, tmp = int(sys.argv[1]), Path(sys.argv[2])
image = tmp / "image.png"
cv2.imwrite(str(image), np.full((256, 256), 128, np.uint8))

def mask(stem):
    rng = np.random.default_rng(int(stem[1:]))
    m = np.zeros((256, 256), np.uint8)
    for k in range(40):
        x, y = (int(v) for v in rng.integers(8, 248, 2))
        cv2.circle(m, (x, y), int(rng.integers(2, 7)), 1 + k % 2, -1)
    return m

classes = [ClassSpec(0, "background", (0, 0, 0)), ClassSpec(1, "a", (255, 0, 0)),
           ClassSpec(2, "b", (0, 255, 0))]
images = [SourceImage(f"m{i}", image, "done") for i in range(n)]
result = export_images(images, classes, "coco", tmp / "out", ExportOptions(split=(1.0, 0.0, 0.0)), mask)
print(result.images, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


# at most: COCO annotations are streamed, so more masks must not mean more memory
TARGETS = {"peak_growth": 1.25}  # peak RSS of the largest count / of the smallest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--memory-masks", default="500,2000", metavar="N,N",
                        help="mask counts to export (default 500,2000)")
    parser.add_argument("--memory-code", type=Path, default=None, metavar="DIR",
                        help="checkout whose resunet_gui to measure (default: this one)")


def peak_rss_mib(n: int, code: Path) -> float:
    """Peak RSS (MiB) of a fresh process exporting ``n`` masks to COCO with ``code``'s package."""
    with tempfile.TemporaryDirectory(prefix="resunet-bench-mem-") as tmp:
        env = dict(os.environ, PYTHONPATH=str(code))
        done = subprocess.run([sys.executable, "-c", CHILD, str(n), tmp], cwd=tmp, env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"export of {n} masks failed: {tail}")
        images, kib = (int(v) for v in done.stdout.split()[-2:])
        if images != n:
            raise RuntimeError(f"exported {images} of {n} masks")
        return kib / 1024


def run(args: argparse.Namespace) -> list[str]:
    counts = [int(v) for v in str(getattr(args, "memory_masks", None) or "500,2000").split(",")]
    code = Path(getattr(args, "memory_code", None) or Path(__file__).resolve().parents[2])
    try:
        peaks = {n: peak_rss_mib(n, code) for n in counts}
    except RuntimeError as exc:
        raise ResunetError(str(exc)) from None
    for n, mib in peaks.items():
        print(f"COCO export of {n} masks: peak RSS {mib:.1f} MiB")
    print(json.dumps({"bench": "export-memory", "code": str(code),
                      "peak_rss_mib": {str(n): round(m, 1) for n, m in peaks.items()}}))
    growth = peaks[max(counts)] / peaks[min(counts)]
    return [] if growth <= TARGETS["peak_growth"] else ["peak_growth"]
