"""Simulated annotator end to end (real service + engine) on a tiny synthetic folder."""
from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
from synthetic import make_blob_project

from resunet_gui.cli import main
from resunet_gui.cli.simulate_plots import effort_png, learning_curve_png
from resunet_gui.engine.settings import SimConfig
from resunet_gui.engine.simulate import SimRow, choose_images

pytestmark = pytest.mark.usefixtures("one_torch_thread")



def test_simulate_writes_csv_and_curve_and_leaves_the_folder_alone(tmp_path):
    src = make_blob_project(tmp_path / "data", n=5, stem="s", n_test=2)
    before = sorted(p.relative_to(src) for p in src.rglob("*"))
    rc = main(["simulate", str(src), "--out", str(tmp_path / "out"), "--steps-per-image", "2",
               "--crop", "64", "--batch-size", "2", "--max-test", "2"])
    assert rc == 0
    rows = _read_rows(tmp_path / "out" / "simulate.csv")
    assert [int(r["images_done"]) for r in rows] == [1, 2, 3]
    # lock-step: exactly the steps asked for, none while effort or the test set is measured
    assert [int(r["train_steps"]) for r in rows] == [2, 4, 6]
    assert rows[0]["model_version"] == "init"  # first suggestion: the untrained model
    assert all(0.0 <= float(r["corrected_fraction"]) <= 1.0 for r in rows)
    assert rows[-1]["test_dice"] != "" and int(rows[-1]["train_steps"]) > 0
    for r in rows:  # the three effort references, all in the CSV
        assert int(r["scratch_actions"]) >= 1
        assert int(r["effort_actions"]) == sum(int(r[f"effort_{k}"])
                                               for k in ("strokes", "fills", "clicks"))
        assert float(r["effort_seconds"]) >= 0 and r["brush_actions"] != ""
    traces = (tmp_path / "out" / "effort.jsonl").read_text().splitlines()
    assert len(traces) == 3 and '"dice"' in traces[0]
    for name in ("learning_curve.png", "effort.png"):
        png = cv2.imread(str(tmp_path / "out" / name))
        assert png is not None and png.shape[2] == 3
    work = tmp_path / "out" / "work"
    assert sorted(p.name for p in (work / "masks").iterdir()) == ["s0.png", "s1.png", "s2.png"]
    assert sorted(p.relative_to(src) for p in src.rglob("*")) == before


def _read_rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_effort_plot_draws_the_three_references(tmp_path):
    rows = [SimRow(i, f"s{i}", i, 0.5, 0.1, "v1", i, effort_actions=i, brush_actions=2 * i,
                   scratch_actions=40) for i in range(1, 6)]
    effort_png(tmp_path / "e.png", rows, "t")
    img = cv2.imread(str(tmp_path / "e.png"))
    for bgr in [(200, 80, 20), (40, 160, 40), (30, 30, 220)]:
        assert (np.abs(img.astype(int) - bgr).sum(axis=2) < 30).sum() > 50


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
                 "batch_size", "lr", "ema_decay", "class_balance", "seed", "order"):
        assert getattr(args, name) == getattr(sim, name), name
        if hasattr(train, name):
            assert getattr(sim, name) == getattr(train, name), name
    assert args.weights == sim.weights
    args = build_parser().parse_args(["train", "folder"])
    for name in ("batch_size", "crop", "lr", "class_balance", "seed"):
        assert getattr(args, name) == getattr(train, name), name


def test_a_folder_of_video_frames_is_sampled_across_its_videos_not_from_the_first_one():
    stems = [f"video{v}_frame{f:02d}" for v in range(10) for f in range(25)]
    spread = choose_images(stems, 20, "spread", seed=0)
    assert len({s.split("_")[0] for s in spread}) == 10
    assert spread == sorted(spread, key=stems.index)  # still annotated in list order
    assert {s.split("_")[0] for s in choose_images(stems, 20, "first", 0)} == {"video0"}
    shuffled = choose_images(stems, 20, "random", seed=3)
    assert len(shuffled) == 20 and shuffled == choose_images(stems, 20, "random", seed=3)
    assert shuffled != choose_images(stems, 20, "random", seed=4)
    assert choose_images(stems[:5], 20, "spread", 0) == stems[:5]


def test_simulate_annotates_the_images_its_order_picks(tmp_path):
    src = make_blob_project(tmp_path / "data", n=6, stem="s", n_test=2)
    rc = main(["simulate", str(src), "--out", str(tmp_path / "out"), "--steps-per-image", "1",
               "--crop", "64", "--batch-size", "2", "--max-test", "2", "--no-effort",
               "--max-images", "2", "--order", "first"])
    assert rc == 0
    assert [r["stem"] for r in _read_rows(tmp_path / "out" / "simulate.csv")] == ["s0", "s1"]
    rc = main(["simulate", str(src), "--out", str(tmp_path / "out2"), "--steps-per-image", "1",
               "--crop", "64", "--batch-size", "2", "--max-test", "2", "--no-effort",
               "--max-images", "2"])
    assert rc == 0
    assert [r["stem"] for r in _read_rows(tmp_path / "out2" / "simulate.csv")] == ["s0", "s3"]


def test_waiting_for_training_steps_that_never_come_is_an_error_not_a_silent_pass():
    from types import SimpleNamespace

    from resunet_gui.core.errors import ResunetError
    from resunet_gui.engine.simulate import _Waiter

    waiter = _Waiter()
    waiter.on_status(SimpleNamespace(state="training", step=3, message=""))
    waiter.wait_steps(3, timeout=0.1)  # already there: returns
    with pytest.raises(ResunetError, match="step 3 of 5"):
        waiter.wait_steps(5, timeout=0.1)
