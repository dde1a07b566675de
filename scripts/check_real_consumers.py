"""By-hand check of exports with the REAL consumers (not a test: they need PyQt5/another torch).

Usage, in a scratch venv that has labelme, ultralytics and nnunetv2 (pip --no-deps, see
docs/EXPORT_FORMATS.md "Checked with the real tools"), from a folder other than the exports:

    ROOT=/tmp/c-real python scripts/check_real_consumers.py isbi2012-em cvc-clinicdb camvid-small

expects $ROOT/<dataset>/ (a copy of the dataset) and $ROOT/out-<dataset>-{labelme,yolo,nifti}.
labelme: labelme2voc.py's own steps (labels.txt -> ids from -1, LabelFile, shapes_to_label).
Ultralytics: check_det_dataset + YOLODataset(task="segment") label verification.
nnU-Net v2: verify_dataset_integrity.
"""
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

root = Path(os.environ.get("ROOT", "/tmp/c-real"))


def source_mask(ds, stem):
    return np.array(Image.open(root / ds / "masks" / f"{stem}.png"))


def check_labelme(ds):
    import labelme
    out = root / f"out-{ds}-labelme"
    class_name_to_id = {}
    for i, line in enumerate((out / "labels.txt").read_text().splitlines()):  # labelme2voc.py
        class_id = i - 1
        class_name_to_id[line.strip()] = class_id
        if class_id == -1:
            assert line.strip() == "__ignore__"
        elif class_id == 0:
            assert line.strip() == "_background_"
    manifest = json.loads((out / "manifest.json").read_text())
    to_value = {int(k): v for k, v in manifest["format_info"]["labelme2voc_values"].items()}
    to_value[255] = -1
    stem_of = {im["file"]: im["stem"] for im in manifest["images"]}
    n = fails = 0
    wrong = total = 0
    for f in sorted(out.glob("*/*.json")):
        n += 1
        try:
            lf = labelme.LabelFile(filename=str(f))
            img = labelme.utils.img_data_to_arr(lf.imageData)
            lbl, _ = labelme.utils.shapes_to_label(img_shape=img.shape, shapes=lf.shapes,
                                                    label_name_to_value=class_name_to_id)
        except Exception as exc:
            fails += 1
            print(f"  labelme FAIL {f.name}: {exc!r}")
            continue
        mask = source_mask(ds, stem_of[f.stem])
        lut = np.zeros(256, np.int32)
        for k, v in to_value.items():
            lut[k] = v
        want = lut[mask]
        wrong += int((lbl != want).sum())
        total += mask.size
    print(f"labelme {ds}: {n} files, shapes_to_label failures {fails}, "
          f"pixels differing {wrong}/{total} = {100 * wrong / max(total, 1):.3f} % "
          f"(polygons {manifest['format_info']['polygons']}, mask shapes {manifest['format_info']['mask_shapes']})")


def check_yolo(ds):
    from ultralytics.data.dataset import YOLODataset
    from ultralytics.data.utils import check_det_dataset
    out = root / f"out-{ds}-yolo"
    data = check_det_dataset(str(out / "data.yaml"))
    assert Path(data["path"]) == out.resolve(), data["path"]
    for split in ("train", "val"):
        d = YOLODataset(img_path=data[split], data=data, task="segment", imgsz=640, augment=False)
        labels = d.labels
        boxes = np.concatenate([lb["bboxes"] for lb in labels if len(lb["bboxes"])])
        segs = [s for lb in labels for s in lb["segments"]]
        zero = int(((boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)).sum())
        print(f"yolo {ds} {split}: path={data['path']} images {len(d.im_files)} labelled {len(labels)}, "
              f"instances {len(boxes)}, zero-area boxes {zero}, "
              f"min points {min(len(s) for s in segs)}, nc {data['nc']}")


def check_nnunet(ds):
    from nnunetv2.experiment_planning.verify_dataset_integrity import verify_dataset_integrity
    out = root / f"out-{ds}-nifti"
    verify_dataset_integrity(str(out), num_processes=2)
    print(f"nnunet {ds}: verify_dataset_integrity passed ({json.loads((out / 'dataset.json').read_text())['labels']})")


if __name__ == "__main__":
    for ds in sys.argv[1:]:
        wanted = os.environ.get("CHECKS", "labelme,yolo,nnunet").split(",")
        for check in (check_labelme, check_yolo, check_nnunet):
            if check.__name__.split("_")[1] not in wanted:
                continue
            try:
                check(ds)
            except Exception as exc:
                print(f"{check.__name__} {ds} FAILED: {exc!r}")
