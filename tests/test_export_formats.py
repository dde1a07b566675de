"""Every export format round-trips: files written by a writer read back to the same masks.

The ``check_*`` helpers are shared with test_export_datasets.py (real datasets) and return
the worst per-image, per-class IoU they saw so callers can report it.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from resunet_gui.core.imageio import read_image, read_mask
from resunet_gui.core.project import Project
from resunet_gui.export import ExportOptions, export_project, formats
from resunet_gui.export.nifti import read_nifti_plane
from resunet_gui.export.polygons import iou

CLASSES = [
    {"id": 0, "name": "background", "color": [0, 0, 0]},
    {"id": 1, "name": "cell", "color": [255, 0, 0]},
    {"id": 2, "name": "nucleus", "color": [0, 255, 0]},
]


def synthetic_mask(seed: int, h: int = 64, w: int = 80) -> np.ndarray:
    """Blobs with holes, islands inside holes, thin lines, touching classes and ignore pixels."""
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), np.uint8)
    cy, cx = rng.integers(20, 44), rng.integers(20, 60)
    cv2.circle(m, (int(cx), int(cy)), 18, 1, -1)
    cv2.circle(m, (int(cx), int(cy)), 9, 0, -1)        # hole
    cv2.circle(m, (int(cx), int(cy)), 4, 1, -1)        # island inside the hole
    cv2.rectangle(m, (2, 2), (12, 9), 2, -1)           # second class
    cv2.rectangle(m, (12, 5), (20, 9), 1, -1)           # touching the first
    m[h - 3, 5:70] = 1                                  # one-pixel line
    m[h - 10:h - 6, w - 8:w - 4] = 255                  # ignore
    m[30:31, 2:3] = 2                                   # single pixel
    return m


def make_dataset(root: Path, n: int = 6, groups: bool = True) -> Path:
    """A dataset-layout folder (images/, masks/, classes.json, split.csv) of synthetic images."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.json").write_text(json.dumps({"classes": CLASSES, "ignore_index": 255}))
    rows = ["stem,split,group"]
    for i in range(n):
        stem = f"img_{i:02d}"
        mask = synthetic_mask(i)
        rgb = np.stack([mask * 40, np.full_like(mask, i * 10), 255 - mask], axis=2).astype(np.uint8)
        cv2.imwrite(str(root / "images" / f"{stem}.png"), rgb)
        cv2.imwrite(str(root / "masks" / f"{stem}.png"), mask)
        rows.append(f"{stem},train,{f'g{i // 2}' if groups else ''}")
    (root / "split.csv").write_text("\n".join(rows) + "\n")
    return root


def source_masks(src: Path, out: Path) -> dict[str, np.ndarray]:
    """Exported file name -> the source mask it must reproduce (from the manifest)."""
    manifest = json.loads((out / "manifest.json").read_text())
    return {im["file"]: read_mask(src / "masks" / f"{im['stem']}.png") for im in manifest["images"]}


def class_ids(out: Path) -> list[int]:
    return [c["id"] for c in json.loads((out / "manifest.json").read_text())["classes"]]


def check_coco(out: Path, masks: dict[str, np.ndarray], mode: str) -> float:
    from pycocotools.coco import COCO

    worst = 1.0
    seen = 0
    for kind_path in sorted((out / "annotations").glob("semantic_*.json")):
        split = kind_path.stem.split("_", 1)[1]
        sem = COCO(str(kind_path))
        inst = COCO(str(out / "annotations" / f"instances_{split}.json"))
        cats = sem.getCatIds()
        info = json.loads((out / "manifest.json").read_text())["format_info"]
        class_of = {cat_id: int(cid) for cid, cat_id in info["category_ids"].items()}
        assert min(cats) == 1 and all(class_of[c["id"]] == c["resunet_class_id"] for c in sem.loadCats(cats))
        for img in sem.loadImgs(sem.getImgIds()):
            assert (out / "images" / split / img["file_name"]).is_file()
            mask = masks[Path(img["file_name"]).stem]
            assert (img["height"], img["width"]) == mask.shape
            for cat in cats:
                truth = mask == class_of[cat]
                anns = sem.loadAnns(sem.getAnnIds(imgIds=img["id"], catIds=[cat]))
                decoded = sem.annToMask(anns[0]).astype(bool) if anns else np.zeros_like(truth)
                parts = [inst.annToMask(a) for a in
                         inst.loadAnns(inst.getAnnIds(imgIds=img["id"], catIds=[cat]))]
                union = np.sum(parts, axis=0) if parts else np.zeros(truth.shape, np.int64)
                n_components = cv2.connectedComponents(truth.astype(np.uint8), connectivity=8)[0] - 1
                assert len(parts) == n_components
                if mode == "rle":
                    assert np.array_equal(decoded, truth)
                    assert np.array_equal(union, truth.astype(union.dtype))  # disjoint, complete
                worst = min(worst, iou(decoded, truth), iou(union > 0, truth))
            seen += 1
    assert seen == len(masks)
    return worst


def boundary_band(truth: np.ndarray, radius: int) -> np.ndarray:
    """Pixels within ``radius`` px (chessboard) of a pixel of another value or of the image
    edge (outlines run along it): where a polygon simplified with epsilon < radius may
    disagree with the mask."""
    k = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    t = np.pad(truth.astype(np.uint8), radius, constant_values=2)  # 2: outside the image
    band = cv2.dilate(t, k) != cv2.erode(t, k)
    return band[radius:-radius, radius:-radius]


def assert_within_tolerance(got: np.ndarray, truth: np.ndarray, epsilon: float) -> None:
    """The documented polygon tolerance: labels differ only within ceil(epsilon) + 1 px of a
    boundary of the source mask (specks that are dropped lie on such boundaries too)."""
    wrong = got != truth
    outside = wrong & ~boundary_band(truth, int(np.ceil(epsilon)) + 1)
    assert not outside.any(), f"{int(outside.sum())} pixels wrong away from any boundary"


def _fill(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    layer = np.zeros(shape, np.uint8)
    cv2.fillPoly(layer, [np.round(points).astype(np.int32).reshape(-1, 1, 2)], 1)
    return layer.astype(bool)


def check_yolo(out: Path, masks: dict[str, np.ndarray]) -> float:
    yaml = (out / "data.yaml").read_text().splitlines()
    names = [json.loads(line.split(":", 1)[1]) for line in yaml if line.startswith("  ")]
    manifest = json.loads((out / "manifest.json").read_text())
    name_to_id = {c["name"]: c["id"] for c in manifest["classes"]}
    yolo_to_id = [name_to_id[n] for n in names]
    info = manifest["format_info"]
    assert {int(k): v for k, v in info["class_index"].items()} == {c: i for i, c in enumerate(yolo_to_id)}
    worst = 1.0
    over_cap = 0
    labels = sorted((out / "labels").rglob("*.txt"))
    assert len(labels) == len(masks)
    for txt in labels:
        mask = masks[txt.stem]
        h, w = mask.shape
        split = txt.parent.name
        assert any((out / "images" / split).glob(f"{txt.stem}.*"))
        got = {cid: np.zeros((h, w), bool) for cid in yolo_to_id}
        for line in txt.read_text().splitlines():
            vals = line.split()
            pts = np.array(vals[1:], float).reshape(-1, 2) * (w, h)
            assert (pts >= -1e-6).all() and (pts <= np.array([w, h]) + 1e-6).all()
            assert len(pts) >= 3  # no degenerate lines
            over_cap += len(pts) > info["max_points"]  # only rings whose hole bridges need the points
            got[yolo_to_id[int(vals[0])]] |= _fill(pts, (h, w))
        for cid, raster in got.items():
            assert_within_tolerance(raster, mask == cid, info["max_epsilon_used_px"])
            worst = min(worst, iou(raster, mask == cid))
    assert over_cap == info["lines_over_cap"]
    return worst


def labelme_shapes_to_label(shape: tuple[int, int], shapes: list[dict],
                            value_of: dict[str, int]) -> np.ndarray:
    """labelme's ``utils.shapes_to_label`` (5.x/6.x) reproduced: PIL polygon with outline and
    fill, ``mask`` shapes pasted into their inclusive bbox, later shapes win."""
    import base64
    import io

    from PIL import ImageDraw

    cls = np.zeros(shape, np.int32)
    for sh in shapes:
        if sh["shape_type"] == "mask":
            crop = np.array(Image.open(io.BytesIO(base64.b64decode(sh["mask"])))).astype(bool)
            (x1, y1), (x2, y2) = np.asarray(sh["points"]).astype(int)
            region = np.zeros(shape, bool)
            region[y1:y2 + 1, x1:x2 + 1] = crop
        else:
            assert sh["shape_type"] == "polygon"
            assert len(sh["points"]) > 2, "Polygon must have points more than 2"  # labelme's own check
            img = Image.fromarray(np.zeros(shape, np.uint8))
            ImageDraw.Draw(img).polygon([tuple(p) for p in sh["points"]], outline=1, fill=1)
            region = np.array(img, bool)
        cls[region] = value_of[sh["label"]]
    return cls


def check_labelme(out: Path, masks: dict[str, np.ndarray]) -> float:
    """labels.txt read as labelme2voc does (line k -> k - 1), shapes rasterised as labelme does."""
    manifest = json.loads((out / "manifest.json").read_text())
    info = manifest["format_info"]
    names = (out / "labels.txt").read_text().splitlines()
    assert names[:2] == ["__ignore__", "_background_"]  # labelme2voc's requirement
    value_of = {name: k - 1 for k, name in enumerate(names)}
    class_of_value = {v: int(c) for c, v in info["labelme2voc_values"].items()} | {-1: 255}
    worst = 1.0
    files = sorted(p for p in out.rglob("*.json") if p.name != "manifest.json")
    assert len(files) == len(masks)
    for path in files:
        doc = json.loads(path.read_text())
        mask = masks[path.stem]
        assert (doc["imageHeight"], doc["imageWidth"]) == mask.shape
        assert (path.parent / doc["imagePath"]).is_file()
        values = labelme_shapes_to_label(mask.shape, doc["shapes"], value_of)
        lut = np.zeros(max(class_of_value) + 2, np.int32)
        for v, c in class_of_value.items():
            lut[v] = c
        got = lut[values]  # unlabelled (0) reads back as the background class or 0
        got[values == 0] = class_of_value.get(0, 0)
        assert_within_tolerance(got, mask.astype(np.int32), info["simplify_epsilon_px"])
        for cid in set(np.unique(mask).tolist()):
            worst = min(worst, iou(got == cid, mask == cid))
    return worst


def check_voc(out: Path, masks: dict[str, np.ndarray]) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    for split in ("train", "val", "test"):
        listed = (out / "ImageSets" / "Segmentation" / f"{split}.txt").read_text().split()
        assert listed == [im["file"] for im in manifest["images"] if im["split"] == split]
    for name, mask in masks.items():
        with Image.open(out / "SegmentationClass" / f"{name}.png") as im:
            assert im.mode == "P"  # palette PNG, as VOC ships
            assert np.array_equal(np.array(im), mask)
        (image,) = (out / "JPEGImages").glob(f"{name}.*")
        assert read_image(image).shape == mask.shape
    assert manifest["format_info"]["reencoded"] == []


def check_png(out: Path, masks: dict[str, np.ndarray], src_classes: list[int]) -> None:
    for name, mask in masks.items():
        with Image.open(out / "masks" / f"{name}.png") as im:
            assert im.mode == "P" and np.array_equal(np.array(im), mask)
    project = Project.open(out, read_only=True)
    try:
        assert sorted(project.stems()) == sorted(masks)
        assert [c.id for c in project.classes] == src_classes
        for name, mask in masks.items():
            assert np.array_equal(project.read_mask(name), mask)
    finally:
        project.close()


def check_nifti(out: Path, masks: dict[str, np.ndarray], src: Path) -> None:
    """nnU-Net layout; label values through the manifest's label map; nibabel AND SimpleITK
    read every plane the same way up as the PNG."""
    import SimpleITK as sitk

    manifest = json.loads((out / "manifest.json").read_text())
    info = manifest["format_info"]
    lut = np.zeros(256, np.uint8)
    for cid, v in info["label_map"].items():
        lut[int(cid)] = v
    if info["ignore_value"] is not None:
        lut[255] = info["ignore_value"]
    for im in manifest["images"]:
        sub = "Ts" if im["split"] == "test" else "Tr"
        base = out / f"labels{sub}" / f"{im['file']}.nii.gz"
        want = lut[masks[im["file"]]]
        assert np.array_equal(read_nifti_plane(base), want)
        assert np.array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(base)))[0], want)
        raw = read_image(next((src / "images").glob(f"{im['stem']}.*"))).raw
        planes = [raw] if raw.ndim == 2 else [raw[:, :, c] for c in range(raw.shape[2])]
        for c, plane in enumerate(planes):
            path = out / f"images{sub}" / f"{im['file']}_{c:04d}.nii.gz"
            got = read_nifti_plane(path)
            assert got.dtype == plane.dtype and np.array_equal(got, plane)
            assert np.array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(path)))[0], plane)


def check_export(fmt: str, src: Path, out: Path, mode: str = "rle") -> float:
    """Run the round-trip check of ``fmt``; returns the worst IoU (1.0 for exact formats)."""
    masks = source_masks(src, out)
    if fmt == "coco":
        return check_coco(out, masks, mode)
    if fmt == "yolo":
        return check_yolo(out, masks)
    if fmt == "labelme":
        return check_labelme(out, masks)
    if fmt == "voc":
        check_voc(out, masks)
    elif fmt == "png":
        check_png(out, masks, class_ids(out))
    elif fmt == "nifti":
        check_nifti(out, masks, src)
    return 1.0


def test_all_six_formats_are_registered() -> None:
    assert set(formats()) == {"png", "coco", "yolo", "voc", "nifti", "labelme", "dicom_seg"}


@pytest.mark.parametrize("fmt,mode", [("png", "rle"), ("coco", "rle"), ("coco", "polygon"),
                                      ("yolo", "rle"), ("voc", "rle"), ("nifti", "rle"),
                                      ("labelme", "rle")])
def test_synthetic_masks_round_trip_through_each_format(tmp_path: Path, fmt: str, mode: str) -> None:
    src = make_dataset(tmp_path / "src")
    with Project.open(src) as project:
        result = export_project(project, fmt, tmp_path / "out",
                                ExportOptions(include="all", coco_mode=mode))
    assert result.images == 6
    worst = check_export(fmt, src, tmp_path / "out", mode)
    if fmt in ("yolo", "labelme"):  # simplified polygons: within the tolerance band (checked)
        assert worst >= 0.8
    else:  # holes, islands in holes, one-pixel lines and single pixels survive exactly
        assert worst == 1.0


def test_coco_polygon_of_a_holed_blob_is_one_ring_that_decodes_with_its_hole(tmp_path: Path) -> None:
    from pycocotools import mask as mask_utils

    src = make_dataset(tmp_path / "src", n=1)
    with Project.open(src) as project:
        export_project(project, "coco", tmp_path / "out",
                       ExportOptions(include="all", coco_mode="polygon", split=(1.0, 0.0, 0.0)))
    doc = json.loads((tmp_path / "out" / "annotations" / "instances_train.json").read_text())
    ann = max((a for a in doc["annotations"] if a["category_id"] == 1), key=lambda a: a["area"])
    assert len(ann["segmentation"]) == 1  # the disc with a hole is ONE polygon
    mask = read_mask(src / "masks" / "img_00.png")
    h, w = mask.shape
    decoded = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(ann["segmentation"], h, w)))
    x, y, bw, bh = (int(v) for v in ann["bbox"])
    cy, cx = y + bh // 2, x + bw // 2
    assert decoded[cy, cx + 6] == 0 and mask[cy, cx + 6] == 0  # inside the hole
    assert decoded[cy, cx + 13] == 1 and mask[cy, cx + 13] == 1  # on the ring
    assert decoded.sum() == ann["area"]


def test_voc_keeps_ignore_as_255_and_coco_leaves_it_unannotated(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src", n=1)
    with Project.open(src) as project:
        export_project(project, "voc", tmp_path / "voc", ExportOptions(include="all", split=(1, 0, 0)))
        export_project(project, "coco", tmp_path / "coco", ExportOptions(include="all", split=(1, 0, 0)))
    with Image.open(tmp_path / "voc" / "SegmentationClass" / "img_00.png") as im:
        assert (np.array(im) == 255).sum() == 16
        assert tuple(im.getpalette()[255 * 3: 255 * 3 + 3]) == (224, 224, 192)
    doc = json.loads((tmp_path / "coco" / "annotations" / "semantic_train.json").read_text())
    assert {c["id"] for c in doc["categories"]} == {1, 2}  # no background, no ignore category
    assert {c["id"]: c["resunet_class_id"] for c in doc["categories"]} == {1: 1, 2: 2}


def test_png_export_split_csv_keeps_groups(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "src")
    with Project.open(src) as project:
        export_project(project, "png", tmp_path / "out", ExportOptions(include="all"))
    rows = list(csv.DictReader((tmp_path / "out" / "split.csv").open()))
    assert [r["group"] for r in rows] == ["g0", "g0", "g1", "g1", "g2", "g2"]
    by_group: dict[str, set[str]] = {}
    for r in rows:
        by_group.setdefault(r["group"], set()).add(r["split"])
    assert all(len(s) == 1 for s in by_group.values())
