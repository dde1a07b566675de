"""``resunet-gui import``: labels from other tools (and our own exports) become project masks.

Round trips go through the public entry points only (``cli.main(["export", ...])`` then
``cli.main(["import", ...])``), so they hold for whichever exporters are installed. The
``compare`` helper is shared with test_label_import_datasets.py (real datasets).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import cv2
import nibabel as nib
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from resunet_gui.cli import main
from resunet_gui.core.imageio import read_mask
from resunet_gui.core.project import Project

CLASSES = [
    {"id": 0, "name": "background", "color": [0, 0, 0]},
    {"id": 1, "name": "cell", "color": [255, 0, 0]},
    {"id": 2, "name": "nucleus", "color": [0, 255, 0]},
]
H, W = 40, 56  # not square: a transposed import cannot pass
RASTER = ("png", "voc", "nifti")
POLYGON = ("yolo", "labelme")  # simplified rings: boundary pixels may move


def synthetic_mask(seed: int) -> np.ndarray:
    """Two classes touching, a blob with a hole and an island, a thin line and ignore pixels."""
    rng = np.random.default_rng(seed)
    m = np.zeros((H, W), np.uint8)
    cy, cx = int(rng.integers(16, 24)), int(rng.integers(18, 38))
    cv2.circle(m, (cx, cy), 13, 1, -1)
    cv2.circle(m, (cx, cy), 6, 0, -1)
    cv2.circle(m, (cx, cy), 2, 2, -1)
    cv2.rectangle(m, (1, 1), (10, 8), 2, -1)
    m[H - 6:H - 2, W - 7:W - 2] = 255
    return m


def make_project(root: Path, n: int = 3, masks: bool = True, classes: list | None = None) -> Path:
    """A dataset-layout project of ``n`` synthetic images (with their masks unless told not)."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.json").write_text(json.dumps({"classes": classes or CLASSES,
                                                   "ignore_index": 255}))
    for i in range(n):
        mask = synthetic_mask(i)
        cv2.imwrite(str(root / "images" / f"im_{i}.png"), (mask * 60).astype(np.uint8))
        if masks:
            cv2.imwrite(str(root / "masks" / f"im_{i}.png"), mask)
    return root


def copy_without_masks(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("masks", ".resunet"))
    return dst


def export(src: Path, fmt: str, out: Path) -> Path:
    mode = ["--coco-mode", "polygon"] if fmt == "coco-polygon" else []
    argv = ["export", str(src), "--format", fmt.split("-")[0], "--out", str(out),
            "--include", "all", *mode]
    assert main(argv) == 0
    return out


def simplify_epsilon(out: Path) -> float:
    """The largest ring simplification an export used (manifest format_info; 1 px if unsaid)."""
    info = json.loads((out / "manifest.json").read_text()).get("format_info") or {}
    return float(info.get("max_epsilon_used_px") or info.get("simplify_epsilon_px") or 1.0)


def boundary_distance(mask: np.ndarray) -> np.ndarray:
    """Per pixel: distance to the nearest pixel of another class or to the image edge."""
    dist = np.zeros(mask.shape, np.float32)
    for c in np.unique(mask):
        inside = np.pad((mask == c).astype(np.uint8), 1)
        d = cv2.distanceTransform(inside, cv2.DIST_L2, 5)[1:-1, 1:-1]
        dist[mask == c] = d[mask == c]
    return dist


def compare(before: Path, after: Path) -> dict[str, float]:
    """Worst per-image pixel agreement and frequency-weighted IoU, and the largest distance
    of a changed pixel from a class boundary (or the image edge) over all masks of ``before``."""
    worst = {"agreement": 1.0, "fwiou": 1.0, "max_distance": 0.0}
    for path in sorted((before / "masks").glob("*.png")):
        a, b = read_mask(path), read_mask(after / "masks" / path.name)
        assert a.shape == b.shape
        worst["agreement"] = min(worst["agreement"], float((a == b).mean()))
        fw = sum(((a == c) & (b == c)).sum() / ((a == c) | (b == c)).sum() * (a == c).mean()
                 for c in np.unique(a))
        worst["fwiou"] = min(worst["fwiou"], float(fw))
        if (a != b).any():
            worst["max_distance"] = max(worst["max_distance"],
                                        float(boundary_distance(a)[a != b].max()))
    return worst


def statuses(folder: Path) -> dict[str, str]:
    with Project.open(folder, read_only=True) as p:
        return {s: p.entry(s).status.value for s in p.stems()}


# ----------------------------------------------------------------- round trips
@pytest.mark.parametrize("fmt", RASTER)
def test_raster_export_then_import_gives_identical_masks(tmp_path: Path, fmt: str) -> None:
    src = make_project(tmp_path / "src")
    out = export(src, fmt, tmp_path / "out")
    dst = copy_without_masks(src, tmp_path / "dst")
    assert main(["import", str(dst), "--from", fmt, str(out)]) == 0
    assert compare(src, dst)["agreement"] == 1.0
    assert set(statuses(dst).values()) == {"done"}


@pytest.mark.parametrize("fmt", POLYGON)
def test_polygon_export_then_import_is_within_the_simplification_tolerance(
        tmp_path: Path, fmt: str) -> None:
    src = make_project(tmp_path / "src")
    out = export(src, fmt, tmp_path / "out")
    dst = copy_without_masks(src, tmp_path / "dst")
    assert main(["import", str(dst), "--from", fmt.split("-")[0], str(out)]) == 0
    worst = compare(src, dst)
    assert worst["max_distance"] <= simplify_epsilon(out) + 2.0, worst  # only boundaries move
    assert worst["agreement"] >= 0.95, worst  # tiny images: boundaries are a large share


@pytest.mark.parametrize("fmt", ["coco", "coco-polygon"])
def test_coco_export_then_import_is_exact_except_ignore_pixels(tmp_path: Path, fmt: str) -> None:
    """COCO cannot carry the ignore label: with a background class, 255 comes back as 0."""
    src = make_project(tmp_path / "src")
    out = export(src, fmt, tmp_path / "out")
    dst = copy_without_masks(src, tmp_path / "dst")
    assert main(["import", str(dst), "--from", "coco", str(out)]) == 0
    for i in range(3):
        expect = synthetic_mask(i)
        expect[expect == 255] = 0
        assert np.array_equal(read_mask(dst / "masks" / f"im_{i}.png"), expect)


def test_format_names_are_case_insensitive(tmp_path: Path) -> None:
    src = make_project(tmp_path / "src")
    out = export(src, "voc", tmp_path / "out")
    dst = copy_without_masks(src, tmp_path / "dst")
    assert main(["import", str(dst), "--from", "VoC", str(out)]) == 0
    assert compare(src, dst)["agreement"] == 1.0


# ----------------------------------------------------------------- conflicts
def test_existing_masks_are_skipped_and_each_is_reported(tmp_path: Path, capsys) -> None:
    src = make_project(tmp_path / "src")
    out = export(src, "png", tmp_path / "out")
    mine = np.full((H, W), 2, np.uint8)
    cv2.imwrite(str(src / "masks" / "im_1.png"), mine)
    capsys.readouterr()
    assert main(["import", str(src), "--from", "png", str(out)]) == 1
    err = capsys.readouterr().err
    for i in range(3):
        assert f"skipped im_{i}: already has a mask" in err
    assert np.array_equal(read_mask(src / "masks" / "im_1.png"), mine)


def test_replace_overwrites_existing_masks_and_keeps_a_backup(tmp_path: Path) -> None:
    src = make_project(tmp_path / "src")
    out = export(src, "png", tmp_path / "out")
    mine = np.full((H, W), 2, np.uint8)
    cv2.imwrite(str(src / "masks" / "im_1.png"), mine)
    assert main(["import", str(src), "--from", "png", str(out), "--replace"]) == 0
    assert np.array_equal(read_mask(src / "masks" / "im_1.png"), synthetic_mask(1))
    backups = list((src / ".resunet").glob("import-backup-*/im_1.png"))
    assert len(backups) == 1 and np.array_equal(read_mask(backups[0]), mine)


def test_only_images_without_masks_are_imported_without_replace(tmp_path: Path) -> None:
    src = make_project(tmp_path / "src")
    out = export(src, "png", tmp_path / "out")
    dst = copy_without_masks(src, tmp_path / "dst")
    (dst / "masks").mkdir()
    cv2.imwrite(str(dst / "masks" / "im_0.png"), np.zeros((H, W), np.uint8))
    assert main(["import", str(dst), "--from", "png", str(out)]) == 1
    assert not read_mask(dst / "masks" / "im_0.png").any()
    assert np.array_equal(read_mask(dst / "masks" / "im_2.png"), synthetic_mask(2))


# ----------------------------------------------------------------- bad input
def test_unknown_format_is_refused_by_the_command_line(tmp_path: Path, capsys) -> None:
    src = make_project(tmp_path / "src")
    with pytest.raises(SystemExit) as exc:
        main(["import", str(src), "--from", "tiff", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --from: invalid choice: 'tiff'" in err


def test_missing_or_empty_source_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    src = make_project(tmp_path / "src")
    assert main(["import", str(src), "--from", "coco", str(tmp_path / "nope")]) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    for fmt in ("coco", "yolo", "labelme", "voc", "nifti", "png"):
        assert main(["import", str(src), "--from", fmt, str(tmp_path / "empty")]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_corrupt_json_is_reported_not_raised(tmp_path: Path, capsys) -> None:
    src = make_project(tmp_path / "src", masks=False)
    (tmp_path / "coco.json").write_text('{"images": [')
    assert main(["import", str(src), "--from", "coco", str(tmp_path / "coco.json")]) == 1
    assert "not valid JSON" in capsys.readouterr().err
    (tmp_path / "lm").mkdir()
    (tmp_path / "lm" / "im_0.json").write_text("[" * 100000)
    assert main(["import", str(src), "--from", "labelme", str(tmp_path / "lm")]) == 1


def test_labels_for_images_the_project_lacks_are_reported(tmp_path: Path, capsys) -> None:
    src = make_project(tmp_path / "src")
    out = export(src, "png", tmp_path / "out")
    dst = tmp_path / "dst"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("masks", ".resunet"))
    (dst / "images" / "im_2.png").unlink()
    capsys.readouterr()
    assert main(["import", str(dst), "--from", "png", str(out)]) == 0
    assert "not in the project" in capsys.readouterr().err
    assert sorted(p.name for p in (dst / "masks").iterdir()) == ["im_0.png", "im_1.png"]


def test_read_only_project_is_refused(tmp_path: Path) -> None:
    src = make_project(tmp_path / "src")
    out = export(src, "png", tmp_path / "out")
    dst = copy_without_masks(src, tmp_path / "dst")
    from resunet_gui.label_import import LabelImportError, import_labels

    with Project.open(dst, read_only=True) as project, pytest.raises(LabelImportError):
        import_labels(project, "png", out)
    assert not (dst / "masks").exists() or not any((dst / "masks").iterdir())


# ----------------------------------------------------------------- what real tools write
def coco_doc(images: list[dict], annotations: list[dict], cats: list[dict]) -> dict:
    return {"images": images, "annotations": annotations, "categories": cats}


def test_coco_from_another_tool_any_category_ids_uncompressed_rle_and_polygons(
        tmp_path: Path) -> None:
    src = make_project(tmp_path / "src", n=1, masks=False)
    truth = np.zeros((H, W), np.uint8)
    truth[5:15, 10:30] = 1
    truth[20:30, 3:9] = 2
    rle = mask_utils.encode(np.asfortranarray((truth == 1).astype(np.uint8)))
    flat = (truth == 1).T.ravel()  # uncompressed RLE runs down columns
    edges = np.flatnonzero(np.diff(np.r_[0, flat, 0]))
    counts = np.diff(np.r_[0, edges, flat.size]).tolist()
    assert sum(counts) == H * W
    anns = [
        {"id": 1, "image_id": 9, "category_id": 42, "segmentation": {"size": [H, W], "counts": counts}},
        {"id": 2, "image_id": 9, "category_id": 7,
         "segmentation": [[3, 20, 9, 20, 9, 30, 3, 30]]},  # corner convention: cols 3-8, rows 20-29
    ]
    cats = [{"id": 42, "name": "Cell"}, {"id": 7, "name": "nucleus"}, {"id": 3, "name": "zebra"}]
    doc = coco_doc([{"id": 9, "file_name": "some/dir/im_0.jpg", "height": H, "width": W}], anns, cats)
    (tmp_path / "a.json").write_text(json.dumps(doc))
    assert main(["import", str(src), "--from", "coco", str(tmp_path / "a.json")]) == 0
    assert np.array_equal(read_mask(src / "masks" / "im_0.png"), truth)
    assert rle["counts"]  # pycocotools agrees the region is non-empty
    with Project.open(src, read_only=True) as p:  # "Cell" matched ignoring case; unused zebra not added
        assert [c.name for c in p.classes] == ["background", "cell", "nucleus"]


def test_coco_hostile_rle_and_polygons_skip_the_image_with_a_reason(tmp_path: Path, capsys) -> None:
    src = make_project(tmp_path / "src", n=3, masks=False)
    images = [{"id": i, "file_name": f"../../etc/im_{i}.png", "height": H, "width": W}
              for i in range(3)]
    anns = [
        {"image_id": 0, "category_id": [1], "segmentation": [[1, 1, 5, 1, 5, 5]]},
        {"image_id": 0, "category_id": 1, "segmentation": {"size": [H, W], "counts": [5, 10**9]}},
        {"image_id": 1, "category_id": 1, "segmentation": [[0, 0, 1e30, 0, 5, 5]]},
        {"image_id": 2, "category_id": 1, "segmentation": {"size": [H, W], "counts": "\x7f\x7f"}},
    ]
    (tmp_path / "a.json").write_text(json.dumps(coco_doc(images, anns, [{"id": 1, "name": "cell"}])))
    assert main(["import", str(src), "--from", "coco", str(tmp_path / "a.json")]) == 1
    err = capsys.readouterr().err
    assert "skipped im_0: RLE counts do not cover" in err
    assert "skipped im_1: points lie far outside" in err
    assert "skipped im_2: compressed RLE string" in err
    assert not (src / "masks").exists() or not any((src / "masks").iterdir())


def test_yolo_from_ultralytics_list_names_and_normalised_points(tmp_path: Path) -> None:
    src = make_project(tmp_path / "src", n=1, masks=False)
    yolo = tmp_path / "yolo"
    (yolo / "labels" / "train").mkdir(parents=True)
    (yolo / "data.yaml").write_text("path: /somewhere\ntrain: images/train\nval: images/train\n"
                                    "names: ['nucleus', \"cell\"]  # two\n")
    x0, y0, x1, y1 = 10 / W, 5 / H, 29 / W, 14 / H
    (yolo / "labels" / "train" / "im_0.txt").write_text(
        f"1 {x0} {y0} {x1} {y0} {x1} {y1} {x0} {y1}\n0 0.5 0.5 0.6 0.6\n")
    assert main(["import", str(src), "--from", "yolo", str(yolo)]) == 0
    truth = np.zeros((H, W), np.uint8)
    truth[5:15, 10:30] = 1
    assert np.array_equal(read_mask(src / "masks" / "im_0.png"), truth)


def test_yaml_names_in_every_style_parse() -> None:
    from resunet_gui.label_import.yolo import parse_names

    assert parse_names("names:\n  0: a\n  1: 'b c'\nnc: 2\n") == ["a", "b c"]
    assert parse_names("names:\n- a\n- \"b\"\n") == ["a", "b"]
    assert parse_names("names: {0: x, 1: y}\n") == ["x", "y"]
    assert parse_names('names: ["x, y", z]\n') == ["x, y", "z"]


def png_b64(arr: np.ndarray) -> str:
    return base64.b64encode(cv2.imencode(".png", arr.astype(np.uint8) * 255)[1].tobytes()).decode()


def test_labelme_rectangle_circle_mask_and_polygon_shapes(tmp_path: Path, capsys) -> None:
    src = make_project(tmp_path / "src", n=1, masks=False)
    crop = np.zeros((4, 5), bool)
    crop[1:3, 1:4] = True
    shapes = [
        {"label": "cell", "shape_type": "rectangle", "points": [[10, 5], [29, 14]]},
        {"label": "nucleus", "shape_type": "circle", "points": [[40, 30], [43, 30]]},
        {"label": "nucleus", "shape_type": "mask", "points": [[2, 30], [6, 33]],
         "mask": png_b64(crop)},
        {"label": "tumour", "shape_type": "polygon", "points": [[45, 2], [50, 2], [50, 6]]},
        {"label": "cell", "shape_type": "line", "points": [[0, 0], [5, 5]]},
    ]
    doc = {"shapes": shapes, "imagePath": "..\\..\\im_0.png", "imageHeight": H, "imageWidth": W}
    (tmp_path / "lm").mkdir()
    (tmp_path / "lm" / "renamed.json").write_text(json.dumps(doc))
    assert main(["import", str(src), "--from", "labelme", str(tmp_path / "lm")]) == 0
    out = capsys.readouterr()
    assert "1 line shape(s)" in out.err and "added class 3 'tumour'" in out.out
    m = read_mask(src / "masks" / "im_0.png")
    assert (m[5:15, 10:30] == 1).all() and m[4, 10] == 0 and m[15, 10] == 0
    assert m[30, 40] == 2 and m[30, 43] == 2 and m[30, 44] == 0
    assert np.array_equal(m[30:34, 2:7] == 2, crop)
    assert m[3, 49] == 3
    with Project.open(src, read_only=True) as p:
        assert [c.name for c in p.classes] == ["background", "cell", "nucleus", "tumour"]
    assert "tumour" in (src / "classes.json").read_text()


def test_labelme_size_mismatch_and_oversized_mask_shape_are_skipped(tmp_path: Path, capsys) -> None:
    src = make_project(tmp_path / "src", n=2, masks=False)
    (tmp_path / "lm").mkdir()
    (tmp_path / "lm" / "im_0.json").write_text(json.dumps(
        {"shapes": [], "imageHeight": H + 1, "imageWidth": W}))
    big = {"label": "cell", "shape_type": "mask", "points": [[0, 0], [1, 1]],
           "mask": png_b64(np.ones((H * 10, W), bool))}
    (tmp_path / "lm" / "im_1.json").write_text(json.dumps({"shapes": [big]}))
    assert main(["import", str(src), "--from", "labelme", str(tmp_path / "lm")]) == 1
    err = capsys.readouterr().err
    assert "skipped im_0: labelme says the image is" in err
    assert "skipped im_1: a mask shape is" in err


def test_voc_colour_masks_void_and_labelmap(tmp_path: Path) -> None:
    src = make_project(tmp_path / "src", n=1, masks=False)
    voc = tmp_path / "VOCdevkit" / "VOC2012"
    (voc / "SegmentationClass").mkdir(parents=True)
    (voc / "labelmap.txt").write_text("# label:color_rgb:parts:actions\nbackground:0,0,0::\n"
                                      "nucleus:0,0,255::\ncell:255,0,0::\n")
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[5:15, 10:30] = (255, 0, 0)
    rgb[20:25, 3:9] = (0, 0, 255)
    rgb[30:32, :] = (224, 224, 192)  # VOC void
    cv2.imwrite(str(voc / "SegmentationClass" / "im_0.png"), rgb[:, :, ::-1])
    assert main(["import", str(src), "--from", "voc", str(tmp_path / "VOCdevkit")]) == 0
    m = read_mask(src / "masks" / "im_0.png")
    assert (m[5:15, 10:30] == 1).all() and (m[20:25, 3:9] == 2).all() and (m[30:32] == 255).all()
    assert m[0, 0] == 0


def nifti(path: Path, plane: np.ndarray) -> None:
    nib.save(nib.Nifti1Image(np.ascontiguousarray(plane.T)[:, :, None],
                             np.diag([-1.0, -1.0, 1.0, 1.0])), str(path))


def test_nnunet_dataset_with_ignore_label_and_shifted_values(tmp_path: Path) -> None:
    src = make_project(tmp_path / "src", n=2, masks=False)
    ds = tmp_path / "Dataset001_X"
    (ds / "labelsTr").mkdir(parents=True)
    (ds / "dataset.json").write_text(json.dumps({"labels": {
        "background": 0, "nucleus": 1, "cell": 2, "ignore": 3}, "file_ending": ".nii.gz"}))
    plane = np.zeros((H, W), np.uint8)
    plane[5:15, 10:30] = 2
    plane[20:25, 3:9] = 1
    plane[30:32, :] = 3
    nifti(ds / "labelsTr" / "im_0.nii.gz", plane)
    nifti(ds / "labelsTr" / "im_1.nii.gz", np.full((W, H), 1, np.uint8))  # wrong size
    assert main(["import", str(src), "--from", "nifti", str(ds)]) == 1
    expect = np.zeros((H, W), np.uint8)
    expect[5:15, 10:30] = 1
    expect[20:25, 3:9] = 2
    expect[30:32, :] = 255
    assert np.array_equal(read_mask(src / "masks" / "im_0.png"), expect)
    assert not (src / "masks" / "im_1.png").exists()


def test_background_in_a_project_without_one_means_unlabelled_not_a_new_class(
        tmp_path: Path) -> None:
    """CamVid-like projects (class 0 is Sky): nnU-Net's mandatory "background" 0 -> ignore."""
    classes = [{"id": 0, "name": "Sky", "color": [128, 128, 128]},
               {"id": 1, "name": "Road", "color": [128, 64, 128]}]
    src = make_project(tmp_path / "src", n=1, masks=False, classes=classes)
    ds = tmp_path / "ds"
    (ds / "labelsTr").mkdir(parents=True)
    (ds / "dataset.json").write_text(json.dumps({"labels": {"background": 0, "Sky": 1, "Road": 2}}))
    plane = np.zeros((H, W), np.uint8)
    plane[:10] = 1
    plane[10:20] = 2
    nifti(ds / "labelsTr" / "im_0.nii.gz", plane)
    assert main(["import", str(src), "--from", "nifti", str(ds)]) == 0
    expect = np.full((H, W), 255, np.uint8)
    expect[:10], expect[10:20] = 0, 1
    assert np.array_equal(read_mask(src / "masks" / "im_0.png"), expect)
    with Project.open(src, read_only=True) as p:
        assert [c.name for c in p.classes] == ["Sky", "Road"]


def test_unknown_class_names_are_added_even_when_the_project_has_masks(tmp_path: Path) -> None:
    src = make_project(tmp_path / "src", n=2, masks=False)
    cv2.imwrite(str(src / "masks" / "im_0.png"), synthetic_mask(0))
    lm = tmp_path / "lm"
    lm.mkdir()
    (lm / "im_1.json").write_text(json.dumps({"shapes": [
        {"label": "mitochondrion", "points": [[1, 1], [9, 1], [9, 9]]}]}))
    assert main(["import", str(src), "--from", "labelme", str(lm)]) == 0
    with Project.open(src, read_only=True) as p:
        assert (p.classes[-1].id, p.classes[-1].name) == (3, "mitochondrion")
        assert np.array_equal(p.read_mask("im_0"), synthetic_mask(0))  # existing ids unchanged
        assert p.read_mask("im_1")[2, 8] == 3


def test_nnunet_v1_labels_and_plain_nii_files_by_stem(tmp_path: Path) -> None:
    src = make_project(tmp_path / "src", n=1, masks=False)
    ds = tmp_path / "Task01"
    ds.mkdir()
    (ds / "dataset.json").write_text(json.dumps({"labels": {"0": "background", "1": "cell"}}))
    plane = np.zeros((H, W), np.int16)
    plane[5:15, 10:30] = 1
    nifti(ds / "im_0.nii", plane)
    assert main(["import", str(src), "--from", "nifti", str(ds)]) == 0
    assert np.array_equal(read_mask(src / "masks" / "im_0.png"), plane.astype(np.uint8))


def test_nifti_volume_and_corrupt_file_are_skipped(tmp_path: Path, capsys) -> None:
    src = make_project(tmp_path / "src", n=2, masks=False)
    (tmp_path / "n").mkdir()
    nib.save(nib.Nifti1Image(np.zeros((W, H, 3), np.uint8), np.eye(4)), str(tmp_path / "n" / "im_0.nii"))
    (tmp_path / "n" / "im_1.nii.gz").write_bytes(b"\x1f\x8b" + os.urandom(200))
    assert main(["import", str(src), "--from", "nifti", str(tmp_path / "n")]) == 1
    err = capsys.readouterr().err
    assert "volume, not a 2-D label map" in err and "not a readable NIfTI" in err


def test_symlinked_label_files_are_not_followed(tmp_path: Path, capsys) -> None:
    src = make_project(tmp_path / "src", n=2, masks=False)
    secret = tmp_path / "elsewhere"
    secret.mkdir()
    cv2.imwrite(str(secret / "im_1.png"), np.ones((H, W), np.uint8))
    (tmp_path / "p" / "masks").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "p" / "masks" / "im_0.png"), np.ones((H, W), np.uint8))
    os.symlink(secret / "im_1.png", tmp_path / "p" / "masks" / "im_1.png")
    assert main(["import", str(src), "--from", "png", str(tmp_path / "p")]) == 0
    assert "symbolic link" in capsys.readouterr().err
    assert (src / "masks" / "im_0.png").exists() and not (src / "masks" / "im_1.png").exists()


GARBAGE = {
    "yolo": {"data.yaml": b"names: [a]\n", "labels/im_0.txt": b"\xff\xfe\x00garbage"},
    "labelme": {"im_0.json": json.dumps({"shapes": [
        {"label": "a", "points": "xx"}, {"label": 5, "points": [[1, 2], [3, 4], [5, 6]]}]}).encode()},
    "voc": {"SegmentationClass/im_0.png": b"\x89PNG\r\n\x1a\n" + bytes(64)},
    "png": {"masks/im_0.png": os.urandom(300)},
    "nifti": {"labelsTr/im_0.nii.gz": b"\x1f\x8b\x08\x00" + bytes(40)},
}


@pytest.mark.parametrize("fmt", sorted(GARBAGE))
def test_garbage_label_files_skip_the_image_with_a_reason(tmp_path: Path, fmt: str,
                                                          capsys) -> None:
    src = make_project(tmp_path / "src", n=1, masks=False)
    for rel, data in GARBAGE[fmt].items():
        (tmp_path / "g" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "g" / rel).write_bytes(data)
    assert main(["import", str(src), "--from", fmt, str(tmp_path / "g")]) == 1
    err = capsys.readouterr().err
    assert "skipped im_0: " in err and "Traceback" not in err
    assert not (src / "masks" / "im_0.png").exists()


def test_unsaved_journalled_edits_count_as_existing_labels(tmp_path: Path, capsys) -> None:
    from resunet_gui.core.types import BBox

    src = make_project(tmp_path / "src")
    out = export(src, "png", tmp_path / "out")
    dst = copy_without_masks(src, tmp_path / "dst")
    with Project.open(dst) as p:  # edits of a session that crashed before its first save
        p.journal.append("im_2", BBox(0, 0, 2, 2), np.ones((2, 2), np.uint8))
    capsys.readouterr()
    assert main(["import", str(dst), "--from", "png", str(out)]) == 1
    assert "skipped im_2: already has a mask" in capsys.readouterr().err
    assert not (dst / "masks" / "im_2.png").exists()


def test_replace_keeps_journalled_edits_and_corrupt_masks_in_the_backup(tmp_path: Path) -> None:
    from resunet_gui.core.types import BBox

    src = make_project(tmp_path / "src")
    out = export(src, "png", tmp_path / "out")
    dst = copy_without_masks(src, tmp_path / "dst")
    (dst / "masks").mkdir(exist_ok=True)
    (dst / "masks" / "im_1.png").write_bytes(b"not a png")
    with Project.open(dst) as p:
        p.journal.append("im_2", BBox(0, 0, 2, 2), np.full((2, 2), 2, np.uint8))
    assert main(["import", str(dst), "--from", "png", str(out), "--replace"]) == 0
    for i in range(3):
        assert np.array_equal(read_mask(dst / "masks" / f"im_{i}.png"), synthetic_mask(i))
    (backup,) = (dst / ".resunet").glob("import-backup-*")
    assert (backup / "im_1.png").read_bytes() == b"not a png"
    edited = read_mask(backup / "im_2.png")
    assert (edited[:2, :2] == 2).all() and not edited[2:].any()
    with Project.open(dst) as p:
        assert p.pending_recovery == []  # the replaced edits are not replayed over the import
