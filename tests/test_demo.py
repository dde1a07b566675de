"""core.demo and ``resunet-gui demo``: a complete, idempotent synthetic project."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from resunet_gui.cli import main
from resunet_gui.core.demo import N_IMAGES, make_demo_project
from resunet_gui.core.project import Project
from resunet_gui.core.types import ImageStatus


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    """One generated demo shared by the tests (generation writes 18 fsynced files)."""
    return make_demo_project(tmp_path_factory.mktemp("demo") / "demo")


def test_demo_project_opens_with_half_the_images_labelled(demo_folder, tmp_path):
    folder = shutil.copytree(demo_folder, tmp_path / "demo")
    with Project.open(folder) as p:
        assert len(p.stems()) == N_IMAGES and not p.warnings
        assert [c.name for c in p.classes] == ["background", "cell"]
        done = p.stems_with_status(ImageStatus.DONE)
        assert len(done) == N_IMAGES // 2
        assert {p.split_of(s) for s in p.stems()} == {"train", "val"}
        from resunet_gui.core.imageio import read_image

        img = read_image(p.image_path(done[0]))
        mask = p.read_mask(done[0])
        assert img.shape == mask.shape == (512, 512)
        assert 0.02 < mask.mean() < 0.6  # some cells, not all cell
        gray = img.raw.mean(axis=2)
        assert gray[mask == 1].mean() > gray[mask == 0].mean() + 40  # masks sit on the cells


def test_demo_is_idempotent_and_keeps_user_edits(demo_folder, tmp_path):
    folder = shutil.copytree(demo_folder, tmp_path / "demo")
    mask_file = sorted((folder / "masks").iterdir())[0]
    mask_file.write_bytes(mask_file.read_bytes())  # stands for a user's edit
    edited = mask_file.stat().st_mtime_ns
    before = {p.name: p.read_bytes() for p in (folder / "images").iterdir()}
    (folder / "images" / "cells_05.png").unlink()
    make_demo_project(folder)
    after = {p.name: p.read_bytes() for p in (folder / "images").iterdir()}
    assert after == before  # the missing image was regenerated identically
    assert mask_file.stat().st_mtime_ns == edited


def test_demo_command_prints_the_folder(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out.strip()
    assert out == str(tmp_path / "d")
    assert len(list((tmp_path / "d" / "images").glob("*.png"))) == N_IMAGES


def test_demo_command_defaults_to_the_user_data_folder(demo_folder, tmp_path, capsys, monkeypatch):
    import platformdirs

    shutil.copytree(demo_folder / "images", tmp_path / "data" / "resunet-gui" / "demo-project" / "images")
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda app: str(tmp_path / "data" / app))
    assert main(["demo"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "data" / "resunet-gui" / "demo-project")
    assert np.all([(tmp_path / "data" / "resunet-gui" / "demo-project" / n).exists()
                   for n in ("classes.json", "split.csv", "images", "masks")])
