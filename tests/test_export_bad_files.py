"""One bad file never blocks or corrupts an export silently (issue 15, items 1, 5 and 11).

By default the export stops before writing anything and lists every bad file, each message
naming the file at fault; ``--skip-bad`` leaves them out and records them in the manifest.
A symlink leading out of the project is left out with a warning unless ``--follow-symlinks``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_export_formats import make_dataset

from resunet_gui.cli import main
from resunet_gui.core.errors import ExportError
from resunet_gui.core.imageio import read_mask
from resunet_gui.core.project import Project
from resunet_gui.core.types import ClassSpec
from resunet_gui.export import ExportOptions, export_images, export_project
from resunet_gui.export.pipeline import SourceImage

FORMATS = ("png", "coco", "yolo", "voc", "nifti", "labelme")


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_image_is_detected_and_named_not_copied(tmp_path: Path, fmt: str) -> None:
    src = make_dataset(tmp_path / "src", n=3)
    truncate(src / "images" / "img_01.png")
    with Project.open(src) as project, pytest.raises(ExportError) as err:
        export_project(project, fmt, tmp_path / "out", ExportOptions(include="all"))
    assert "img_01.png" in str(err.value) and "--skip-bad" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_every_bad_file_is_listed_at_once_and_each_message_names_the_right_file(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src", n=5)
    truncate(src / "images" / "img_00.png")
    (src / "masks" / "img_02.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    bad_values = read_mask(src / "masks" / "img_03.png")
    bad_values[0, :3] = 7
    cv2.imwrite(str(src / "masks" / "img_03.png"), bad_values)
    cv2.imwrite(str(src / "masks" / "img_04.png"), np.zeros((20, 30), np.uint8))  # wrong size
    with Project.open(src) as project, pytest.raises(ExportError) as err:
        export_project(project, "coco", tmp_path / "out", ExportOptions(include="all"))
    lines = str(err.value).splitlines()
    assert lines[0].startswith("4 file(s) cannot be exported")
    assert "img_00: image" in lines[1] and "img_00.png" in lines[1]
    assert "img_02: mask " in lines[2] and "masks/img_02.png unreadable" in lines[2]
    assert "img_03: mask of img_03 has value 7 that is not a class" in lines[3]
    assert "img_04: mask of img_04 is 30x20 but its image is" in lines[4]


def test_skip_bad_exports_the_rest_and_records_the_skipped_files(tmp_path: Path, capsys) -> None:
    src = make_dataset(tmp_path / "src", n=4)
    truncate(src / "images" / "img_01.png")
    out = tmp_path / "out"
    assert main(["export", str(src), "--format", "yolo", "--out", str(out), "--include", "all",
                 "--skip-bad"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert [im["stem"] for im in manifest["images"]] == ["img_00", "img_02", "img_03"]
    assert [s["stem"] for s in manifest["skipped"]] == ["img_01"]
    assert "img_01.png" in manifest["skipped"][0]["error"]
    assert not list(out.rglob("img_01*"))
    assert "img_01" in capsys.readouterr().err


def test_mask_values_outside_the_classes_fail_with_image_and_values(tmp_path: Path, capsys) -> None:
    src = make_dataset(tmp_path / "src", n=2)
    mask = read_mask(src / "masks" / "img_01.png")
    mask[5, 5], mask[6, 6] = 7, 9
    cv2.imwrite(str(src / "masks" / "img_01.png"), mask)
    assert main(["export", str(src), "--format", "labelme", "--out", str(tmp_path / "out"),
                 "--include", "all"]) == 1
    err = capsys.readouterr().err
    assert "img_01: mask of img_01 has values 7, 9 that are not a class (classes: 0, 1, 2)" in err


def _linked_export(tmp_path: Path, options: ExportOptions) -> dict:
    """A project image that is a symlink to a file outside the project folder."""
    project = tmp_path / "project"
    (project / "images").mkdir(parents=True)
    outside = tmp_path / "private.png"
    cv2.imwrite(str(outside), np.full((8, 8), 200, np.uint8))
    os.symlink(outside, project / "images" / "leak.png")
    cv2.imwrite(str(project / "images" / "ok.png"), np.full((8, 8), 50, np.uint8))
    images = [SourceImage(s, project / "images" / f"{s}.png", "done") for s in ("leak", "ok")]
    classes = [ClassSpec(0, "background", (0, 0, 0)), ClassSpec(1, "x", (255, 0, 0))]
    export_images(images, classes, "png", tmp_path / "out", options,
                  lambda stem: np.ones((8, 8), np.uint8), source=project)
    return json.loads((tmp_path / "out" / "manifest.json").read_text())


def test_image_symlinked_out_of_the_project_is_left_out_with_a_warning(tmp_path: Path) -> None:
    manifest = _linked_export(tmp_path, ExportOptions(split=(1, 0, 0)))
    assert [im["stem"] for im in manifest["images"]] == ["ok"]
    assert any("leak" in w and "--follow-symlinks" in w for w in manifest["warnings"])
    assert not (tmp_path / "out" / "images" / "leak.png").exists()


def test_follow_symlinks_exports_the_linked_image_and_says_so(tmp_path: Path) -> None:
    manifest = _linked_export(tmp_path, ExportOptions(split=(1, 0, 0), follow_symlinks=True))
    assert [im["stem"] for im in manifest["images"]] == ["leak", "ok"]
    assert any("leak" in w and "exported" in w for w in manifest["warnings"])
    assert (tmp_path / "out" / "images" / "leak.png").read_bytes() == (tmp_path / "private.png").read_bytes()


def test_cancel_while_checking_the_files_writes_nothing(tmp_path: Path) -> None:
    from resunet_gui.export import ExportCancelled

    src = make_dataset(tmp_path / "src", n=3)
    with Project.open(src) as project, pytest.raises(ExportCancelled):
        export_project(project, "png", tmp_path / "out", ExportOptions(include="all"),
                       should_cancel=lambda: True)
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_a_project_whose_images_all_link_outside_says_which_option_exports_them(tmp_path: Path) -> None:
    outside = tmp_path / "private.png"
    cv2.imwrite(str(outside), np.full((8, 8), 200, np.uint8))
    project = tmp_path / "project"
    (project / "images").mkdir(parents=True)
    os.symlink(outside, project / "images" / "a.png")
    with pytest.raises(ExportError, match="1 image.*link outside the project folder: --follow-symlinks"):
        export_images([SourceImage("a", project / "images" / "a.png", "done")],
                      [ClassSpec(0, "background", (0, 0, 0))], "png", tmp_path / "out",
                      ExportOptions(), lambda stem: np.zeros((8, 8), np.uint8), source=project)
