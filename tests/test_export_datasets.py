"""Round trips on copies of the real datasets in ../shared/data (subsets keep the suite fast).

The full datasets are measured by ``python tests/test_export_datasets.py`` (prints figures).
"""
from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from test_export_formats import check_export

from resunet_gui.core.project import Project
from resunet_gui.export import ExportOptions, export_project

SUBSET = {"isbi2012-em": 8, "cvc-clinicdb": 20, "camvid-small": 6}
CASES = [("coco", "rle"), ("coco", "polygon"), ("yolo", "rle"), ("voc", "rle"), ("nifti", "rle"),
         ("labelme", "rle"), ("png", "rle")]


def trim(folder: Path, keep: int | None) -> None:
    """Keep the first ``keep`` images (sorted) of a dataset copy, with their masks."""
    images = sorted((folder / "images").iterdir())
    for img in images[keep:] if keep else []:
        img.unlink()
        (folder / "masks" / f"{img.stem}.png").unlink(missing_ok=True)


def export_and_check(src: Path, out: Path, fmt: str, mode: str) -> tuple[float, int]:
    with Project.open(src) as project:
        result = export_project(project, fmt, out, ExportOptions(coco_mode=mode))
    return check_export(fmt, src, out, mode), result.images


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("dataset", sorted(SUBSET))
def test_dataset_copy_round_trips_through_every_format(dataset_copy: Callable[[str], Path],
                                                       tmp_path: Path, dataset: str) -> None:
    src = dataset_copy(dataset)
    trim(src, SUBSET[dataset])
    results = {}
    for fmt, mode in CASES:
        worst, n = export_and_check(src, tmp_path / f"{fmt}-{mode}", fmt, mode)
        assert n == SUBSET[dataset]  # imported masks count as done
        results[(fmt, mode)] = worst
    exact = {k: v for k, v in results.items() if k[0] not in ("yolo", "labelme")}
    assert set(exact.values()) == {1.0}, results  # RLE, COCO polygons, VOC, NIfTI, PNG: exact
    # simplified polygons: the tolerance band is asserted inside check_yolo/check_labelme; the
    # worst per-image, per-class IoU is low only for tiny objects (specks, thin poles)
    assert min(results.values()) >= 0.5, results


if __name__ == "__main__":  # full datasets, figures for the report
    import shutil
    import time

    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    for name in sys.argv[1:] or sorted(SUBSET):
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / name
            shutil.copytree(data / name, src)
            for p in [src, *src.rglob("*")]:
                p.chmod(0o755 if p.is_dir() else 0o644)
            for fmt, mode in CASES:
                t0 = time.perf_counter()
                try:
                    worst, n = export_and_check(src, Path(tmp) / f"{fmt}-{mode}", fmt, mode)
                except Exception as exc:  # report and go on with the other formats
                    print(f"{name:14s} {fmt:8s} {mode:8s} FAILED: {exc!r}"[:300], flush=True)
                    continue
                print(f"{name:14s} {fmt:8s} {mode:8s} images {n:4d} worst IoU {worst:.6f} "
                      f"(export+check {time.perf_counter() - t0:.1f} s)", flush=True)
