"""The inference-only engine serves a checkpoint's model (or a seeded random one) and never trains."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from resunet_gui.core.errors import ResunetError
from resunet_gui.engine.inference_engine import InferenceEngine
from resunet_gui.engine.service import ModelService
from resunet_gui.model.checkpoint import CheckpointMeta, save_checkpoint
from resunet_gui.model.resunet import ResUNet

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CLASSES = [{"id": 0, "name": "bg", "color": [0, 0, 0]}, {"id": 1, "name": "fg", "color": [255, 0, 0]},
           {"id": 2, "name": "other", "color": [0, 255, 0]}]


def test_engine_serves_the_checkpoint_model_and_its_version(tmp_path):
    torch.manual_seed(3)
    model = ResUNet(3).eval()
    path = save_checkpoint(tmp_path / "m.safetensors", model,
                           CheckpointMeta(classes=CLASSES, num_classes=3, model_version="v007"))
    engine = InferenceEngine(path)
    image = np.random.default_rng(0).random((40, 72, 3), dtype=np.float32)
    pred = engine.predict(image, lambda: False)
    assert engine.model_version() == "v007"
    assert pred.probs.shape == (3, 40, 72) and pred.mask.shape == (40, 72)
    with torch.inference_mode():
        x = torch.from_numpy(image).permute(2, 0, 1)[None]
        mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
        std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
        expected = model((x - mean) / std).argmax(1)[0].numpy()
    assert (pred.mask == expected).mean() > 0.99


def test_random_engine_is_seeded_and_refuses_to_train():
    image = np.random.default_rng(1).random((32, 32, 3), dtype=np.float32)
    a, b = InferenceEngine(), InferenceEngine()
    assert np.array_equal(a.predict(image, lambda: False).probs, b.predict(image, lambda: False).probs)
    assert a.model_version() == "random init" and not a.can_train()
    assert a.status().state == "idle"
    with pytest.raises(RuntimeError):
        a.train_chunk()


def test_model_service_lists_no_versions_of_a_fixed_model_and_refuses_to_change_it(caplog):
    got: dict[str, object] = {}
    done = threading.Event()
    errors: list[tuple[int, str]] = []
    svc = ModelService(InferenceEngine, on_result=lambda r: None,
                       on_error=lambda rid, msg: (errors.append((rid, msg)), done.set()))
    try:
        svc.list_versions(lambda listing: (got.update(listing=listing), done.set()))
        assert done.wait(30)
        listing = got["listing"]
        assert listing.versions == [] and listing.current == "random init"
        done.clear()
        rid = svc.rollback("v001")
        assert done.wait(30)
        assert errors and errors[0][0] == rid and "fixed model" in errors[0][1]
    finally:
        svc.shutdown()
    assert "Traceback" not in caplog.text
    with pytest.raises(ResunetError):
        InferenceEngine().set_mode("all")
