"""Simulated annotator end to end (real service + engine) on a tiny synthetic folder."""
from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
from synthetic import make_blob_project

from resunet_gui.cli import main
from resunet_gui.engine.settings import SimConfig
from resunet_gui.engine.simulate import SimRow, learning_curve_png, simulate

pytestmark = pytest.mark.usefixtures("one_torch_thread")



def test_simulate_writes_csv_and_curve_and_leaves_the_folder_alone(tmp_path):
    src = make_blob_project(tmp_path / "data", n=5, stem="s", n_test=2)
    before = sorted(p.relative_to(src) for p in src.rglob("*"))
    cfg = SimConfig(steps_per_image=2, crop=64, batch_size=2, max_test=2)
    rows = simulate(src, tmp_path / "out", cfg)
    assert [r.images_done for r in rows] == [1, 2, 3]
    assert [r.train_steps >= 2 * r.images_done for r in rows] == [True, True, True]
    assert rows[0].model_version == "init"  # first suggestion comes from the untrained model
    assert all(0.0 <= r.corrected_fraction <= 1.0 and 0.0 <= r.suggestion_dice <= 1.0
               for r in rows)
    assert rows[-1].test_dice is not None and rows[-1].train_steps > 0
    with open(tmp_path / "out" / "simulate.csv") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 3 and {"test_dice", "corrected_fraction"} <= set(table[0])
    png = cv2.imread(str(tmp_path / "out" / "learning_curve.png"))
    assert png is not None and png.shape[2] == 3
    work = tmp_path / "out" / "work"
    assert sorted(p.name for p in (work / "masks").iterdir()) == ["s0.png", "s1.png", "s2.png"]
    assert sorted(p.relative_to(src) for p in src.rglob("*")) == before


def test_learning_curve_draws_each_series(tmp_path):
    rows = [SimRow(i, f"s{i}", i, 0.1 * i, 1 - 0.1 * i, "v1", i, 0.1 * i) for i in range(1, 6)]
    learning_curve_png(tmp_path / "c.png", rows, "t")
    img = cv2.imread(str(tmp_path / "c.png"))
    for bgr in [(200, 80, 20), (40, 160, 40), (30, 30, 220)]:
        assert (np.abs(img.astype(int) - bgr).sum(axis=2) < 30).sum() > 50


def test_simulate_without_test_split_is_a_clear_error(tmp_path, capsys):
    src = make_blob_project(tmp_path / "data", n=2, stem="s", n_test=0)
    rc = main(["simulate", str(src), "--out", str(tmp_path / "o"), "--steps-per-image", "1"])
    assert rc == 1
    assert "needs masks in a train and a test" in capsys.readouterr().err



def test_cli_defaults_are_the_settings_defaults():
    from resunet_gui.cli import build_parser
    from resunet_gui.engine.settings import TrainConfig

    sim, train = SimConfig(), TrainConfig()
    args = build_parser().parse_args(["simulate", "folder"])
    for name in ("time_per_image", "device", "min_done", "eval_every", "max_test", "crop",
                 "batch_size", "lr", "ema_decay", "class_balance", "seed"):
        assert getattr(args, name) == getattr(sim, name), name
        if hasattr(train, name):
            assert getattr(sim, name) == getattr(train, name), name
    assert args.weights == sim.weights
    args = build_parser().parse_args(["train", "folder"])
    for name in ("batch_size", "crop", "lr", "class_balance", "seed"):
        assert getattr(args, name) == getattr(train, name), name
