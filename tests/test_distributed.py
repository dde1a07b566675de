"""`resunet-gui train` under a 2-process CPU torchrun (gloo) writes the usual checkpoint."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors import safe_open
from synthetic import make_blob_project

from resunet_gui.cli import main
from resunet_gui.model.checkpoint import load_checkpoint

HERE = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("one_torch_thread")



def tensor_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    with safe_open(str(path), framework="pt") as fh:
        return {k: tuple(fh.get_slice(k).get_shape()) for k in fh.keys()}  # noqa: SIM118


def test_single_process_train_and_eval_print_json(tmp_path, capsys):
    folder = make_blob_project(tmp_path / "p", n=3)
    rc = main(["train", str(folder), "--steps", "2", "--crop", "64", "--batch-size", "2",
               "--weights", "none", "--device", "cpu", "--out", str(tmp_path / "one.safetensors")])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps"] == 2 and out["world_size"] == 1
    rc = main(["eval", str(folder), "--checkpoint", str(tmp_path / "one.safetensors"),
               "--split", "all", "--device", "cpu"])
    assert rc == 0
    ev = json.loads(capsys.readouterr().out)
    assert set(ev["dice"]) == {"background", "blob"} and 0.0 <= ev["mean_dice"] <= 1.0
    assert set(ev["iou"]) == {"background", "blob"} and ev["images"] == 3


def test_eval_of_missing_split_is_a_one_line_error(tmp_path, capsys):
    folder = make_blob_project(tmp_path / "p", n=2)
    rc = main(["train", str(folder), "--steps", "1", "--crop", "64", "--batch-size", "2",
               "--weights", "none", "--device", "cpu", "--out", str(tmp_path / "c.safetensors")])
    assert rc == 0
    capsys.readouterr()
    rc = main(["eval", str(folder), "--checkpoint", str(tmp_path / "c.safetensors")])
    assert rc == 1
    assert "no images with masks in split 'test'" in capsys.readouterr().err


@pytest.mark.slow
def test_two_process_cpu_torchrun_writes_the_same_checkpoint_format(tmp_path):
    folder = make_blob_project(tmp_path / "p", n=4)
    ddp_out = tmp_path / "ddp.safetensors"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(HERE))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
           "-m", "resunet_gui", "train", str(folder), "--steps", "5", "--crop", "64",
           "--batch-size", "2", "--weights", "none", "--device", "cpu", "--out", str(ddp_out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert summary["world_size"] == 2 and summary["steps"] == 5
    model, meta = load_checkpoint(ddp_out)  # loads strictly into a plain ResUNet
    assert meta.training["world_size"] == 2
    reference = {k: tuple(v.shape) for k, v in type(model)(2).state_dict().items()}
    assert tensor_shapes(ddp_out) == reference  # no "module." prefixes from DDP
    assert json.loads(ddp_out.with_suffix(".json").read_text())["num_classes"] == 2

