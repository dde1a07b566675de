"""Each export loaded the way its consumer loads it.

Where the consumer installs as a test dependency its own loader is used (pycocotools,
torchvision ``VOCSegmentation``, nibabel and SimpleITK); where it does not (labelme,
Ultralytics, nnU-Net pull in PyQt5/another torch), the documented loading rules are
reproduced here: labelme's ``shapes_to_label`` (test_export_formats.labelme_shapes_to_label),
Ultralytics' ``check_det_dataset`` path resolution and label checks, nnU-Net v2's
``verify_dataset_integrity`` label and file-name checks. The real tools were run by hand on
the shared datasets (see docs/EXPORT_FORMATS.md).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from test_export_formats import check_labelme, check_nifti, make_dataset, source_masks

from resunet_gui.core.project import Project
from resunet_gui.export import ExportOptions, export_project

ALL = ExportOptions(include="all")
CAMVID_LIKE = [{"id": 0, "name": "Sky", "color": [128, 128, 128]},
               {"id": 1, "name": "Building", "color": [128, 0, 0]},
               {"id": 2, "name": "Road", "color": [128, 64, 128]}]


def make_camvid_like(root: Path, n: int = 3) -> Path:
    """Class 0 is a real class (Sky), void specks are 255: the case that broke three formats."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.json").write_text(json.dumps({"classes": CAMVID_LIKE, "ignore_index": 255}))
    rng = np.random.default_rng(1)
    for i in range(n):
        m = np.zeros((48, 64), np.uint8)
        m[20:, :] = 2
        cv2.rectangle(m, (5 + i, 8), (30, 30), 1, -1)
        ys, xs = rng.integers(0, 48, 12), rng.integers(0, 64, 12)
        m[ys, xs] = 255  # one-pixel void specks: labelme and YOLO used to emit 1-point shapes
        img = np.zeros((48, 64, 3), np.uint8)
        img[:, :, 0] = np.arange(64)[None, :] * 3  # asymmetric in x ...
        img[:, :, 1] = np.arange(48)[:, None] * 5  # ... and in y: a flip or rotation shows
        cv2.imwrite(str(root / "images" / f"f{i}.png"), img)
        cv2.imwrite(str(root / "masks" / f"f{i}.png"), m)
    return root


def export(src: Path, fmt: str, out: Path, options: ExportOptions = ALL) -> dict:
    with Project.open(src) as project:
        export_project(project, fmt, out, options)
    return json.loads((out / "manifest.json").read_text())


# ---------------------------------------------------------------- COCO (pycocotools)

def test_coco_category_ids_start_at_1_even_when_class_0_is_a_real_class(tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    src = make_camvid_like(tmp_path / "src")
    manifest = export(src, "coco", tmp_path / "out", ExportOptions(include="all", split=(1, 0, 0)))
    assert manifest["format_info"]["category_ids"] == {"0": 1, "1": 2, "2": 3}
    coco = COCO(str(tmp_path / "out" / "annotations" / "semantic_train.json"))
    assert sorted(coco.getCatIds()) == [1, 2, 3]
    assert {c["name"]: c["resunet_class_id"] for c in coco.loadCats(coco.getCatIds())} == {
        "Sky": 0, "Building": 1, "Road": 2}
    masks = source_masks(src, tmp_path / "out")
    for img in coco.loadImgs(coco.getImgIds()):
        truth = masks[Path(img["file_name"]).stem]
        (ann,) = coco.loadAnns(coco.getAnnIds(imgIds=img["id"], catIds=[1]))
        assert np.array_equal(coco.annToMask(ann).astype(bool), truth == 0)  # Sky, pixel exact


# ---------------------------------------------------------------- VOC (torchvision)

def _voc_root(out: Path, tmp_path: Path) -> Path:
    """torchvision expects <root>/VOCdevkit/VOC2012/{JPEGImages,SegmentationClass,ImageSets}."""
    root = tmp_path / "vocroot"
    (root / "VOCdevkit").mkdir(parents=True)
    os.symlink(out, root / "VOCdevkit" / "VOC2012")
    return root


def test_voc_jpeg_export_loads_in_torchvision_voc_segmentation_with_exact_masks(tmp_path: Path) -> None:
    from torchvision.datasets import VOCSegmentation

    src = make_dataset(tmp_path / "src", n=3)
    out = tmp_path / "out"
    manifest = export(src, "voc", out, ExportOptions(include="all", split=(1, 0, 0), voc_jpeg=True))
    assert manifest["format_info"]["image_encoding"] == "jpeg"
    assert sorted(manifest["format_info"]["reencoded"]) == ["img_00", "img_01", "img_02"]
    assert any("re-encoded as JPEG" in w for w in manifest["warnings"])
    ds = VOCSegmentation(str(_voc_root(out, tmp_path)), year="2012", image_set="train")
    masks = source_masks(src, out)
    assert len(ds) == 3
    for i, name in enumerate((out / "ImageSets" / "Segmentation" / "train.txt").read_text().split()):
        image, target = ds[i]
        assert image.size == target.size and np.array_equal(np.array(target), masks[name])


def test_voc_default_copies_png_sources_losslessly_and_jpeg_sources_byte_for_byte(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src", n=2)
    jpeg_src = src / "images" / "img_01.png"
    ok, buf = cv2.imencode(".jpg", cv2.imread(str(jpeg_src)))
    jpeg_src.unlink()
    (src / "images" / "img_01.jpg").write_bytes(buf.tobytes())
    out = tmp_path / "out"
    manifest = export(src, "voc", out)
    assert manifest["format_info"] == {"image_encoding": "copy", "jpeg_quality": 95, "reencoded": []}
    assert (out / "JPEGImages" / "img_00.png").read_bytes() == (src / "images" / "img_00.png").read_bytes()
    assert (out / "JPEGImages" / "img_01.jpg").read_bytes() == buf.tobytes()
    assert not any("re-encoded" in w for w in manifest["warnings"])


# ---------------------------------------------------------------- NIfTI (nibabel, SimpleITK, nnU-Net rules)

def nnunet_dataset_problems(root: Path) -> list[str]:
    """nnU-Net v2 ``verify_dataset_integrity`` rules: required keys, background 0, consecutive
    labels with the ignore label highest, ``<case>_<CCCC><ending>`` per channel, one label file
    per case, only declared values in the labels, numTraining."""
    import nibabel as nib

    ds = json.loads((root / "dataset.json").read_text())
    problems = [f"missing key {k}" for k in ("channel_names", "labels", "numTraining", "file_ending")
                if k not in ds]
    labels = ds["labels"]
    if labels.get("background") != 0:
        problems.append("Background label not declared")
    values = sorted(v for k, v in labels.items() if k != "ignore")
    if "ignore" in labels:
        if labels["ignore"] != max(values) + 1:
            problems.append("ignore label must be the highest")
        values.append(labels["ignore"])
    if values != list(range(len(values))):
        problems.append(f"labels not consecutive: {values}")
    ending, n_ch = ds["file_ending"], len(ds["channel_names"])
    cases = sorted(p.name[: -len(ending)] for p in (root / "labelsTr").iterdir())
    images = sorted(p.name for p in (root / "imagesTr").iterdir())
    expected = sorted(f"{c}_{k:04d}{ending}" for c in cases for k in range(n_ch))
    if images != expected:
        problems.append(f"imagesTr does not match labelsTr x channels: {images[:3]} vs {expected[:3]}")
    if ds["numTraining"] != len(cases):
        problems.append(f"numTraining {ds['numTraining']} != {len(cases)} cases")
    for case in cases:
        found = np.unique(np.asarray(nib.load(str(root / "labelsTr" / f"{case}{ending}")).dataobj))
        if not set(found.tolist()) <= set(values):
            problems.append(f"{case}: undeclared label values {sorted(set(found.tolist()) - set(values))}")
    return problems


def test_nifti_export_passes_nnunet_dataset_checks_with_class_0_as_a_real_class(tmp_path: Path) -> None:
    src = make_camvid_like(tmp_path / "src", n=4)
    out = tmp_path / "out"
    manifest = export(src, "nifti", out, ExportOptions(include="all", split=(0.5, 0.25, 0.25)))
    ds = json.loads((out / "dataset.json").read_text())
    assert ds["labels"] == {"background": 0, "Sky": 1, "Building": 2, "Road": 3, "ignore": 4}
    assert manifest["format_info"]["label_map"] == {"0": 1, "1": 2, "2": 3}
    assert manifest["format_info"]["ignore_value"] == 4
    assert ds["channel_names"] == {"0": "R", "1": "G", "2": "B"} and ds["file_ending"] == ".nii.gz"
    assert nnunet_dataset_problems(out) == []
    assert (out / "imagesTs").is_dir() and json.loads((out / "splits_final.json").read_text())[0]["val"]
    check_nifti(out, source_masks(src, out), src)  # every plane, nibabel and SimpleITK


def test_nifti_planes_read_the_same_way_up_in_simpleitk_nibabel_and_the_png(tmp_path: Path) -> None:
    import nibabel as nib
    import SimpleITK as sitk

    src = make_camvid_like(tmp_path / "src", n=1)
    out = tmp_path / "out"
    export(src, "nifti", out, ExportOptions(include="all", split=(1, 0, 0)))
    png = np.array(Image.open(src / "images" / "f0.png"))  # RGB, red ramps in x, green in y
    itk = sitk.ReadImage(str(out / "imagesTr" / "f0_0000.nii.gz"))
    assert itk.GetDirection() == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)  # as nnU-Net writes
    assert np.array_equal(sitk.GetArrayFromImage(itk)[0], png[:, :, 0])
    img = nib.load(str(out / "imagesTr" / "f0_0001.nii.gz"))
    assert nib.aff2axcodes(img.affine) == ("L", "P", "S")  # = ITK's identity (LPS)
    assert np.array_equal(np.asarray(img.dataobj)[:, :, 0].T, png[:, :, 1])


def test_nifti_background_named_class_0_stays_0_and_no_ignore_is_declared_without_255(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src", n=2)
    for p in (src / "masks").iterdir():  # drop the ignore pixels
        m = np.array(Image.open(p))
        m[m == 255] = 0
        cv2.imwrite(str(p), m)
    out = tmp_path / "out"
    manifest = export(src, "nifti", out)
    assert json.loads((out / "dataset.json").read_text())["labels"] == {"background": 0, "cell": 1, "nucleus": 2}
    assert manifest["format_info"]["ignore_value"] is None
    assert nnunet_dataset_problems(out) == []


# ---------------------------------------------------------------- YOLO (Ultralytics rules)

def ultralytics_dataset_root(yaml_path: Path, datasets_dir: Path, new_rule: bool) -> Path:
    """``check_det_dataset``'s root: ``path`` or the yaml's folder; a relative one joined to
    DATASETS_DIR (8.0-8.3), or kept when it exists relative to the working directory (8.4)."""
    text = yaml_path.read_text()
    m = re.search(r"^path:\s*(.+)$", text, re.M)
    path = Path(json.loads(m.group(1)) if m and m.group(1).startswith('"') else (m.group(1) if m else ""))
    path = path if m else Path(str(yaml_path)).parent
    if new_rule:
        return path if path.exists() or path.is_absolute() else (datasets_dir / path).resolve()
    return path if path.is_absolute() else (datasets_dir / path).resolve()


def test_yolo_data_yaml_resolves_to_its_own_folder_under_every_ultralytics_rule(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = make_dataset(tmp_path / "src", n=4)
    out = tmp_path / "out"
    export(src, "yolo", out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # users run yolo from anywhere
    for new_rule in (False, True):
        root = ultralytics_dataset_root(out / "data.yaml", tmp_path / "datasets", new_rule)
        assert root == out.resolve()
        for key in ("train", "val"):
            line = re.search(rf"^{key}:\s*(\S+)$", (out / "data.yaml").read_text(), re.M)
            assert (root / line.group(1)).is_dir()


def ultralytics_label_problems(txt: Path, nc: int) -> list[str]:
    """``verify_image_label`` for segments: classes in range, coordinates normalised, and (what
    became zero-area boxes before) at least 3 points with a non-zero box per line."""
    problems = []
    for k, line in enumerate(txt.read_text().splitlines()):
        vals = line.split()
        pts = np.array(vals[1:], float).reshape(-1, 2)
        w, h = pts.max(0) - pts.min(0)
        if not 0 <= int(vals[0]) < nc:
            problems.append(f"{txt.name}:{k}: class {vals[0]} out of range")
        if len(pts) < 3 or w <= 0 or h <= 0:
            problems.append(f"{txt.name}:{k}: degenerate ({len(pts)} points, box {w}x{h})")
        if (pts < 0).any() or (pts > 1).any():
            problems.append(f"{txt.name}:{k}: coordinates not normalised")
    return problems


def test_yolo_lines_are_never_degenerate_and_respect_the_point_cap(tmp_path: Path) -> None:
    src = make_camvid_like(tmp_path / "src", n=2)
    yy, xx = np.mgrid[:48, :64]
    m = np.full((48, 64), 2, np.uint8)  # f0 without holes: the cap can always be met
    m[np.sin(xx / 1.5) * 2 + 10 > yy] = 1  # a very wiggly outline
    cv2.imwrite(str(src / "masks" / "f0.png"), m)
    out = tmp_path / "out"
    manifest = export(src, "yolo", out, ExportOptions(include="all", max_points=20))
    info = manifest["format_info"]
    assert info["max_points"] == 20 and info["max_epsilon_used_px"] > info["simplify_epsilon_px"]
    over = 0
    for txt in (out / "labels").rglob("*.txt"):
        assert ultralytics_label_problems(txt, nc=3) == []
        lengths = [(len(ln.split()) - 1) // 2 for ln in txt.read_text().splitlines()]
        if txt.stem == "f0":
            assert max(lengths) <= 20
        over += sum(n > 20 for n in lengths)  # rings with holes keep their bridges exact
    assert over == info["lines_over_cap"]


# ---------------------------------------------------------------- labelme (shapes_to_label rules)

def test_labelme_export_loads_with_labelme_rules_holes_as_mask_shapes(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src", n=3)  # discs with holes, islands, 1-px lines, single pixels
    out = tmp_path / "out"
    manifest = export(src, "labelme", out)
    info = manifest["format_info"]
    assert info["polygons"] > 0 and info["mask_shapes"] > 0
    shapes = [s for p in out.rglob("*.json") if p.name != "manifest.json"
              for s in json.loads(p.read_text())["shapes"]]
    assert all(len(s["points"]) > 2 for s in shapes if s["shape_type"] == "polygon")
    assert check_labelme(out, source_masks(src, out)) >= 0.8  # tolerance band checked inside


def test_labelme_labels_txt_starts_with_ignore_and_background_for_labelme2voc(tmp_path: Path) -> None:
    src = make_camvid_like(tmp_path / "src", n=2)
    out = tmp_path / "out"
    manifest = export(src, "labelme", out)
    assert (out / "labels.txt").read_text().splitlines() == [
        "__ignore__", "_background_", "Sky", "Building", "Road"]
    assert manifest["format_info"]["labelme2voc_values"] == {"0": 1, "1": 2, "2": 3}
    check_labelme(out, source_masks(src, out))
