"""One model bootstrap for every entry point: checkpoint | encoder weights | none, one device
resolver, no download outside ``doctor --download-weights``, one CPU copy after an OOM."""
from __future__ import annotations

import json
import logging
import urllib.request

import numpy as np
import pytest
import torch
from synthetic import make_blob_project

from resunet_gui.cli import main
from resunet_gui.core.errors import CheckpointError
from resunet_gui.engine.bootstrap import bootstrap_model, checkpoint_meta, save_model
from resunet_gui.engine.device import DeviceError
from resunet_gui.engine.inference_engine import InferenceEngine
from resunet_gui.engine.predictor import Predictor
from resunet_gui.engine.settings import TrainConfig
from resunet_gui.engine.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """An empty weights cache and a network that fails the test when touched."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    calls: list[str] = []

    def refuse(*args, **kwargs):
        calls.append(str(args[0]) if args else "?")
        raise AssertionError("library code tried to download")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return calls


def test_imagenet_weights_missing_from_cache_warn_and_start_random_without_download(
        no_network, caplog):
    with caplog.at_level(logging.WARNING):
        setup = bootstrap_model(2, weights="imagenet", device="cpu")
    assert no_network == []
    assert not setup.pretrained and "not in cache" in setup.init
    assert "doctor --download-weights" in setup.init
    assert setup.mode == "all" and setup.frozen_stages == ()
    assert sum(r.levelno == logging.WARNING for r in caplog.records) == 1


def test_train_with_uncached_imagenet_weights_never_downloads(no_network, tmp_path, capsys):
    folder = make_blob_project(tmp_path / "p", n=2)
    rc = main(["train", str(folder), "--steps", "1", "--crop", "64", "--batch-size", "2",
               "--device", "cpu", "--out", str(tmp_path / "m.safetensors")])
    assert rc == 0 and no_network == []
    assert json.loads(capsys.readouterr().out)["mode"] == "all"


def test_checkpoint_setup_brings_its_normalisation_metadata_and_frozen_stages(tmp_path):
    start = bootstrap_model(3, weights="none", device="cpu", seed=0)
    start.normalization = type(start.normalization)((0.5,) * 3, (0.25,) * 3)
    meta = checkpoint_meta(start, [], 3, {"pretrained_encoder": True})
    path = save_model(start.model, meta, out=tmp_path / "m.safetensors", models_dir=tmp_path)
    setup = bootstrap_model(3, checkpoint=path, device="cpu")
    assert setup.meta is not None and setup.version == "v001"
    assert setup.normalization.mean == (0.5, 0.5, 0.5)
    assert setup.pretrained and setup.mode == "decoder"  # a pretrained encoder stays frozen
    assert "layer4" in setup.frozen_stages and "checkpoint m.safetensors" in setup.init
    late = bootstrap_model(3, checkpoint=path, device="cpu", mode="decoder+late")
    assert late.frozen_stages == ("stem", "layer1", "layer2")
    with pytest.raises(CheckpointError, match="predicts 3 classes"):
        bootstrap_model(2, checkpoint=path, device="cpu")


def test_one_device_resolver_refuses_a_missing_device_everywhere():
    missing = f"cuda:{torch.cuda.device_count() + 7}"
    with pytest.raises(DeviceError):
        bootstrap_model(2, weights="none", device=missing)
    with pytest.raises(DeviceError):
        InferenceEngine(device=missing)
    with pytest.raises(DeviceError):
        Trainer(bootstrap_model(2, weights="none", device="cpu").model, TrainConfig(), missing)


def test_inference_engine_serves_on_the_chosen_device():
    engine = InferenceEngine(device="cpu")
    assert engine.device == "cpu"
    image = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    assert engine.predict(image, lambda: False).device == "cpu"


def test_cli_modules_do_not_build_models_themselves():
    """The import-linter contract, checked here too so `pytest` alone catches a regression."""
    import ast
    from pathlib import Path

    import resunet_gui.cli as cli

    offenders = []
    for path in Path(cli.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "resunet_gui.model"):
                offenders.append(f"{path.name}: {node.module}")
    assert offenders == []


def test_cpu_copy_after_out_of_memory_is_made_once_and_follows_the_weights():
    cpu_runs: list[int] = []  # ids of the modules that ran on the CPU (deepcopy keeps this list)

    class OomOffCpu(torch.nn.Module):
        """Runs out of memory on any device but the CPU."""

        in_channels = 3

        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 2, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.device.type != "cpu":
                raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
            cpu_runs.append(id(self))
            return self.conv(x)

    model = OomOffCpu()
    pred = Predictor(model, device="cpu", tile=64, min_tile=64, amp=False)
    pred.device = torch.device("meta")  # stands in for a GPU that is full
    image = np.random.default_rng(0).random((40, 40, 3), dtype=np.float32)
    first = pred.predict(image)
    with torch.no_grad():
        model.conv.bias.copy_(torch.tensor([0.0, 100.0]))  # the served weights change
    second = pred.predict(image)
    assert first.device == second.device == "cpu"
    assert len(cpu_runs) == 2 and len(set(cpu_runs)) == 1  # one CPU copy, reused
    assert id(model) not in cpu_runs
    assert (second.mask == 1).all()  # ... running the served model's current weights


def test_project_engine_starts_from_the_weights_file_through_the_bootstrap(tmp_path, no_network):
    from safetensors.torch import save_file
    from torchvision.models import resnet18

    from resunet_gui.core.project import Project
    from resunet_gui.engine.project_engine import EngineConfig, ProjectEngine

    torch.manual_seed(7)
    state = resnet18(weights=None).state_dict()
    path = tmp_path / "encoder.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    folder = make_blob_project(tmp_path / "p", n=2)
    with Project.open(folder) as project:
        engine = ProjectEngine(project, EngineConfig(device="cpu", weights=str(path)))
        assert engine.pretrained and engine.trainer.config.mode == "decoder"
        assert "encoder.safetensors" in engine.status().message
        assert torch.equal(engine.serving.encoder.conv1.weight, state["conv1.weight"])
        plain = ProjectEngine(project, EngineConfig(device="cpu", weights="imagenet"))
        assert not plain.pretrained and "not in cache" in plain.weights_message
    assert no_network == []
