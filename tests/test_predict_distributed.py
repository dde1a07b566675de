"""``resunet-gui predict`` scales out: under torchrun each rank predicts a disjoint share of the
folder, and the masks of all ranks equal the single-process masks byte for byte."""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from synthetic import make_blob_project

from resunet_gui.cli import main
from resunet_gui.engine import distributed as D
from resunet_gui.engine.bootstrap import bootstrap_model, checkpoint_meta, save_model

HERE = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _save_version(folder: Path, seed: int = 5) -> None:
    """A trained-looking current version in the folder's .resunet/models."""
    setup = bootstrap_model(2, weights="none", device="cpu", seed=seed)
    from resunet_gui.core.types import ClassSpec

    classes = [ClassSpec(0, "background", (0, 0, 0)), ClassSpec(1, "blob", (255, 0, 0))]
    save_model(setup.model, checkpoint_meta(setup, classes, 2, {"source": "test"}), out=None,
               models_dir=folder / ".resunet" / "models")


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _predict(folder: Path, out: Path, nproc: int, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(HERE))
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}",
           "--standalone", "-m", "resunet_gui", "predict", str(folder), "--out", str(out),
           "--device", "cpu", *extra]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _same_masks_with_one_and_two_processes(folder: Path, tmp_path: Path, *extra: str) -> str:
    """One process (in this one, torch on one thread like the ranks) vs a 2-rank torchrun."""
    assert main(["predict", str(folder), "--out", str(tmp_path / "one"), "--device", "cpu",
                 *extra]) == 0
    two = _predict(folder, tmp_path / "two", 2, *extra)
    assert _hashes(tmp_path / "one") == _hashes(tmp_path / "two")
    n = len(list((tmp_path / "one").iterdir()))
    assert f"wrote {n} masks" in two.stderr and "(2 processes)" in two.stderr
    assert two.stderr.count("wrote ") == 1  # one summary, from rank 0
    return two.stderr


def test_shares_of_the_ranks_are_disjoint_deterministic_and_cover_the_list():
    items = [f"im{i}" for i in range(11)]
    for world in (1, 2, 3, 4, 16):
        shares = [D.shard(items, D.DistContext(rank=r, world_size=world)) for r in range(world)]
        assert sorted(x for s in shares for x in s) == sorted(items)
        assert sum(map(len, shares)) == len(items)
        assert shares == [D.shard(items, D.DistContext(rank=r, world_size=world))
                          for r in range(world)]


def test_predict_without_checkpoint_uses_the_folders_current_version(tmp_path, caplog, capsys):
    folder = make_blob_project(tmp_path / "p", n=2)
    setup = bootstrap_model(2, weights="none", device="cpu", seed=1)
    with torch.no_grad():  # class 1 wins everywhere: unmistakably this model's masks
        setup.model.head.conv.bias.copy_(torch.tensor([0.0, 100.0]))
    save_model(setup.model, checkpoint_meta(setup, [], 2, {}), out=None,
               models_dir=folder / ".resunet" / "models")
    with caplog.at_level(logging.INFO):
        assert main(["predict", str(folder), "--out", str(tmp_path / "out"),
                     "--device", "cpu"]) == 0
    import cv2

    for i in range(2):
        assert (cv2.imread(str(tmp_path / "out" / f"im{i}.png"), cv2.IMREAD_UNCHANGED) == 1).all()
    assert "with saved model v001" in capsys.readouterr().err
    assert not any("randomly initialised" in r.getMessage() for r in caplog.records)


def test_predict_with_no_model_at_all_gives_the_same_masks_every_run(tmp_path):
    folder = make_blob_project(tmp_path / "p", n=2, size=48)
    for out in ("a", "b"):
        assert main(["predict", str(folder), "--out", str(tmp_path / out),
                     "--device", "cpu"]) == 0
    assert _hashes(tmp_path / "a") == _hashes(tmp_path / "b")


@pytest.mark.slow
def test_two_process_torchrun_predict_equals_one_process_on_a_synthetic_project(tmp_path):
    folder = make_blob_project(tmp_path / "p", n=5, size=80)
    _save_version(folder)
    err = _same_masks_with_one_and_two_processes(folder, tmp_path, "--tile", "48")
    assert len(_hashes(tmp_path / "one")) == 5
    assert " 3/3 " in err and " 2/2 " not in err  # rank 0's progress (3 of 5), not rank 1's


@pytest.mark.slow
def test_two_process_torchrun_predict_equals_one_process_on_cvc_clinicdb(shared_data, tmp_path):
    src = shared_data / "cvc-clinicdb"
    if not (src / "images").is_dir():
        pytest.skip(f"cvc-clinicdb not found at {src}")
    folder = tmp_path / "cvc"
    (folder / "images").mkdir(parents=True)
    for path in sorted((src / "images").iterdir(), key=lambda p: p.name)[:6]:
        shutil.copyfile(path, folder / "images" / path.name)
    shutil.copyfile(src / "classes.json", folder / "classes.json")
    _save_version(folder)
    _same_masks_with_one_and_two_processes(folder, tmp_path, "--tile", "192")
    assert len(_hashes(tmp_path / "one")) == 6
