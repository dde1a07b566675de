"""Export safety: staging + rename, refusal of non-empty targets, cancel, sanitised names, manifest."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_export_formats import make_dataset

from resunet_gui import __version__
from resunet_gui.cli import main
from resunet_gui.core.errors import ExportError
from resunet_gui.core.project import Project
from resunet_gui.core.types import ClassSpec
from resunet_gui.export import ExportCancelled, ExportOptions, export_images, export_project
from resunet_gui.export.manifest import verify_manifest
from resunet_gui.export.pipeline import SourceImage

ALL = ExportOptions(include="all")


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_failure_mid_way_leaves_no_target_folder_and_no_staging(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src")
    with Project.open(src) as project:
        real = project.read_mask_checked
        calls = {"n": 0}

        def flaky(stem: str, **kw):
            calls["n"] += 1
            if calls["n"] == 6 + 3:  # first pass reads 6 masks; fail on the 3rd written image
                raise OSError(5, "injected I/O error")
            return real(stem, **kw)

        project.read_mask_checked = flaky  # type: ignore[method-assign]
        with pytest.raises(OSError):
            export_project(project, "coco", tmp_path / "out", ALL)
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []


def test_cancel_mid_way_raises_and_leaves_nothing(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src")
    seen: list[tuple[int, int]] = []
    with Project.open(src) as project, pytest.raises(ExportCancelled):
        export_project(project, "yolo", tmp_path / "out", ALL, progress=lambda d, t: seen.append((d, t)),
                       should_cancel=lambda: len(seen) >= 2)
    assert seen == [(1, 6), (2, 6)]
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_non_empty_target_is_refused_and_kept(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src")
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with Project.open(src) as project, pytest.raises(ExportError, match="not empty"):
        export_project(project, "png", out, ALL)
    assert (out / "precious.txt").read_text() == "keep me"


def test_overwrite_replaces_the_old_export_completely(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src")
    out = tmp_path / "out"
    with Project.open(src) as project:
        export_project(project, "yolo", out, ALL)
        export_project(project, "voc", out, ExportOptions(include="all", overwrite=True))
    assert not (out / "data.yaml").exists() and (out / "labelmap.txt").is_file()
    assert json.loads((out / "manifest.json").read_text())["format"] == "voc"
    assert leftovers(tmp_path) == []


def test_overwrite_refuses_a_folder_that_is_not_a_previous_export(tmp_path: Path, capsys) -> None:
    src = make_dataset(tmp_path / "src")
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("years of work")
    assert main(["export", str(src), "--format", "png", "--out", str(out), "--include", "all",
                 "--overwrite"]) != 0
    err = capsys.readouterr().err
    assert "--overwrite" in err and str(out) in err
    assert (out / "chapter1.tex").read_text() == "years of work"


def test_overwrite_refuses_a_previous_export_with_extra_files_in_it(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src")
    out = tmp_path / "out"
    with Project.open(src) as project:
        export_project(project, "png", out, ALL)
        (out / "images" / "notes.txt").write_text("added later by the user")
        with pytest.raises(ExportError, match=r"--overwrite refused.*images/notes\.txt"):
            export_project(project, "png", out, ExportOptions(include="all", overwrite=True))
    assert (out / "images" / "notes.txt").is_file()


def test_overwrite_refuses_a_forged_manifest_of_another_app(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src")
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"app": "other", "files": {}}))
    with Project.open(src) as project, pytest.raises(ExportError, match="--overwrite refused"):
        export_project(project, "png", out, ExportOptions(include="all", overwrite=True))
    assert (out / "manifest.json").is_file()


def test_overwrite_refuses_a_previous_export_whose_files_were_edited_since(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src")
    out = tmp_path / "out"
    with Project.open(src) as project:
        export_project(project, "png", out, ALL)
        mask = next((out / "masks").glob("*.png"))
        mask.write_bytes(mask.read_bytes() + b"fixed by hand")
        with pytest.raises(ExportError, match=r"--overwrite refused.*changed since the export"):
            export_project(project, "png", out, ExportOptions(include="all", overwrite=True))
    assert mask.read_bytes().endswith(b"fixed by hand")


def test_overwrite_refuses_a_forged_manifest_that_lists_the_users_files(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src")
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"years of work")
    (out / "manifest.json").write_text(json.dumps({"app": "resunet-gui",
                                                   "files": {"thesis.docx": "0" * 64}}))
    with Project.open(src) as project, pytest.raises(ExportError, match="thesis.docx"):
        export_project(project, "png", out, ExportOptions(include="all", overwrite=True))
    assert (out / "thesis.docx").read_bytes() == b"years of work"


def test_empty_existing_target_is_used(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src")
    (tmp_path / "out").mkdir()
    with Project.open(src) as project:
        export_project(project, "png", tmp_path / "out", ALL)
    assert (tmp_path / "out" / "classes.json").is_file()


def test_target_inside_the_project_is_refused(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src")
    with Project.open(src) as project, pytest.raises(ExportError, match="outside"):
        export_project(project, "png", src / "export", ALL)
    with Project.open(src) as project, pytest.raises(ExportError, match="outside"):
        export_project(project, "png", tmp_path, ExportOptions(include="all", overwrite=True))
    assert (src / "images").is_dir()


def test_hostile_image_names_and_class_names_cannot_escape_the_export(tmp_path: Path) -> None:
    mask = np.zeros((8, 8), np.uint8)
    mask[2:5, 2:5] = 1
    img = tmp_path / "x.png"
    cv2.imwrite(str(img), np.zeros((8, 8, 3), np.uint8))
    stems = ["../../evil", "..", "a/b", "A/B", "con:x", ".hidden"]
    images = [SourceImage(s, img, "done") for s in stems]
    classes = [ClassSpec(0, "background", (0, 0, 0)), ClassSpec(1, '../x": y\n', (1, 2, 3))]
    for fmt in ("png", "yolo", "labelme", "coco", "voc", "nifti"):
        out = tmp_path / "exports" / fmt
        export_images(images, classes, fmt, out, ExportOptions(split=(1.0, 0, 0)), lambda s: mask)
        written = [p.resolve() for p in out.rglob("*")]
        assert all(out.resolve() in p.parents for p in written)
        names = {p.name for p in written}
        assert not any(n.startswith(".") for n in names)
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == sorted(
        ["png", "yolo", "labelme", "coco", "voc", "nifti"])
    assert sorted((tmp_path / "exports" / "png" / "masks").iterdir()).__len__() == len(stems)
    data_yaml = (tmp_path / "exports" / "yolo" / "data.yaml").read_text()
    assert '  0: "../x\\": y\\n"' in data_yaml  # quoted, escaped YAML scalar


def test_manifest_lists_status_provenance_split_and_hashes_of_every_file(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src")
    with Project.open(src) as project:
        project.set_status("img_01", "in_progress", model_version="v3", corrected_fraction=0.25)
        project.set_status("img_02", "done", model_version="v3", corrected_fraction=0.125)
        result = export_project(project, "labelme", tmp_path / "out")
    man = json.loads(result.manifest.read_text())
    assert man["app_version"] == __version__ and man["format"] == "labelme"
    assert man["source"] == str(src.absolute())
    assert [c["name"] for c in man["classes"]] == ["background", "cell", "nucleus"]
    by_stem = {im["stem"]: im for im in man["images"]}
    assert "img_01" not in by_stem  # not done: excluded by default
    assert by_stem["img_02"]["model_version"] == "v3"
    assert by_stem["img_02"]["corrected_fraction"] == 0.125
    assert by_stem["img_02"]["status"] == "done" and by_stem["img_02"]["split"] in ("train", "val", "test")
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.name != "manifest.json"]
    assert sorted(man["files"]) == sorted(p.relative_to(tmp_path / "out").as_posix() for p in files)
    for p in files:
        rel = p.relative_to(tmp_path / "out").as_posix()
        assert man["files"][rel] == hashlib.sha256(p.read_bytes()).hexdigest()
    assert verify_manifest(tmp_path / "out") == []
    (files[0]).write_bytes(b"tampered")
    assert verify_manifest(tmp_path / "out") == [files[0].relative_to(tmp_path / "out").as_posix()]


def test_exporting_twice_with_the_same_seed_gives_identical_labels(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src", n=12, groups=False)
    with Project.open(src) as project:
        a = export_project(project, "png", tmp_path / "a", ALL)
        b = export_project(project, "png", tmp_path / "b", ALL)
    assert (tmp_path / "a" / "split.csv").read_bytes() == (tmp_path / "b" / "split.csv").read_bytes()
    fa = json.loads(a.manifest.read_text())["files"]
    fb = json.loads(b.manifest.read_text())["files"]
    assert fa == fb


def test_nothing_to_export_is_a_clear_error(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src", n=2)
    with Project.open(src) as project:
        for stem in project.stems():
            project.set_status(stem, "in_progress")
        with pytest.raises(ExportError, match="nothing to export"):
            export_project(project, "png", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_export_writes_dataset_and_reports_errors_in_one_line(tmp_path: Path, capsys) -> None:
    src = make_dataset(tmp_path / "src")
    out = tmp_path / "out"
    rc = main(["export", str(src), "--format", "coco", "--out", str(out), "--split", "0.5,0.5,0",
               "--seed", "3", "--include", "all", "--coco-mode", "polygon"])
    captured = capsys.readouterr()
    assert rc == 0 and "exported 6 images" in captured.out and "6/6" in captured.err
    assert "check files 6/6" in captured.err  # the check pass decodes every image: it shows progress
    assert (out / "annotations" / "instances_train.json").is_file()
    assert not (src / ".resunet").exists()  # the CLI opens the project read-only
    rc = main(["export", str(src), "--format", "coco", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("error: ") and "not empty" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as usage:  # a bad --split is a usage error
        main(["export", str(src), "--format", "yolo", "--out", str(tmp_path / "o2"),
              "--split", "x"])
    assert usage.value.code == 2


def test_bench_export_prints_time_and_image_count(tmp_path: Path, capsys) -> None:
    import argparse

    from resunet_gui.bench import export as bench_export

    src = make_dataset(tmp_path / "src")
    args = argparse.Namespace(export_data=src, export_format="coco", export_coco_mode="rle",
                              export_repeat=1, export_images=None)
    assert bench_export.run(args) == []
    lines = capsys.readouterr().out.strip().splitlines()
    report = json.loads(lines[-1])
    assert report["images"] == 6 and report["format"] == "coco" and report["seconds"] > 0
    assert lines[0].startswith("export src (6 images) to coco rle:")
    assert not (src / ".resunet").exists()  # the bench works on a copy
