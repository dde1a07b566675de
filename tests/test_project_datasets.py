"""Project.open on the real datasets in ../shared/data (copied first; skipped when absent)."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from resunet_gui.core.imageio import read_image
from resunet_gui.core.project import Project
from resunet_gui.core.types import ImageStatus

DATASETS = ["isbi2012-em", "cvc-clinicdb", "camvid-small"]


@pytest.mark.data
@pytest.mark.parametrize("name", DATASETS)
def test_dataset_opens_with_masks_imported_as_done_and_split_read(dataset_copy, name):
    root = dataset_copy(name)
    n_images = len(list((root / "images").iterdir()))
    with Project.open(root) as p:
        assert p.layout == "dataset" and not p.read_only
        assert len(p.stems()) == n_images
        assert p.stems_with_status(ImageStatus.DONE) == p.stems()  # every image has a mask
        expected = json.loads((root / "classes.json").read_text())
        assert [c.name for c in p.classes] == [c["name"] for c in expected["classes"]]
        assert p.ignore_index == expected["ignore_index"]
        with open(root / "split.csv", newline="") as fh:
            rows = {r["stem"]: r for r in csv.DictReader(fh)}
        for stem in p.stems()[:: max(1, n_images // 10)]:
            assert p.split_of(stem) == rows[stem]["split"] and p.group_of(stem) == rows[stem]["group"]
        stem = p.stems()[0]
        mask = p.read_mask(stem)
        assert mask.dtype == np.uint8 and mask.shape == p.image_size(stem) == read_image(p.image_path(stem)).shape


@pytest.mark.data
@pytest.mark.parametrize("name", DATASETS)
def test_dataset_status_and_mask_round_trip_and_lock(dataset_copy, name):
    root = dataset_copy(name)
    with Project.open(root) as p:
        stem = p.stems()[1]
        mask = p.read_mask(stem)
        mask[:4, :4] = 1
        p.save_mask(stem, mask)
        p.set_status(stem, ImageStatus.IN_PROGRESS, model_version="v001", corrected_fraction=0.5)
        with Project.open(root) as other:
            assert other.read_only and "in use by pid" in other.read_only_reason
    with Project.open(root) as p:
        e = p.entry(stem)
        assert (e.status, e.model_version, e.corrected_fraction) == (ImageStatus.IN_PROGRESS, "v001", 0.5)
        np.testing.assert_array_equal(p.read_mask(stem), mask)
        assert p.entry(p.stems()[0]).status == ImageStatus.DONE


@pytest.mark.data
def test_dataset_masks_can_be_imported_as_new(dataset_copy):
    with Project.open(dataset_copy("isbi2012-em"), import_masks_as="new") as p:
        assert p.stems_with_status("done") == [] and len(p.stems_with_status("new")) == len(p.stems())
