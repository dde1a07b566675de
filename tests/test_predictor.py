"""Predictor: tiling with blended seams, input adaptation, cancel, out-of-memory fallback."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from torch import nn

from resunet_gui.core.types import Normalization
from resunet_gui.engine.predictor import Cancelled, PredictionError, Predictor, to_model_input
from resunet_gui.model.resunet import ResUNet

torch.set_num_threads(2)


class LocalNet(nn.Module):
    """A per-pixel model: tiled and whole-image predictions must agree exactly."""

    in_channels = 3

    def __init__(self, k: int = 3) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, k, 1)
        self.calls: list[tuple[int, ...]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(x.shape))
        return self.conv(x) * 4


class SmallContextNet(nn.Module):
    """Two 3x3 convs: a receptive field of 5 px, well inside the tile overlap."""

    in_channels = 3

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(8, 2, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) * 3


def _image(h: int, w: int, c: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, c), dtype=np.float32)


def test_tiled_prediction_equals_whole_image_for_a_per_pixel_model():
    img = _image(150, 200)
    whole = Predictor(LocalNet(), device="cpu", tile=1024).predict(img)
    net = LocalNet()
    tiled = Predictor(net, device="cpu", tile=64, overlap=16).predict(img)
    assert len(net.calls) > 9 and all(c[-2:] == (64, 64) for c in net.calls)
    np.testing.assert_allclose(tiled.probs, whole.probs, rtol=0, atol=1e-5)
    assert np.array_equal(tiled.mask, whole.mask)


def test_tiled_prediction_blends_seams_for_a_model_with_context():
    img = _image(130, 170, seed=3)
    whole = Predictor(SmallContextNet(), device="cpu").predict(img)
    tiled = Predictor(SmallContextNet(), device="cpu", tile=64, overlap=16,
                      batch_tiles=4).predict(img)
    diff = np.abs(tiled.probs - whole.probs)
    assert diff.mean() < 1e-3 and diff.max() < 0.05
    assert (tiled.mask == whole.mask).mean() > 0.995


def test_prediction_fields_are_consistent():
    pred = Predictor(LocalNet(k=4), device="cpu").predict(_image(33, 47))
    assert pred.probs.shape == (4, 33, 47) and pred.probs.dtype == np.float32
    np.testing.assert_allclose(pred.probs.sum(0), 1.0, atol=1e-5)
    assert pred.mask.dtype == np.uint8 and np.array_equal(pred.mask, pred.probs.argmax(0))
    assert pred.entropy is not None and pred.entropy.shape == (33, 47)
    assert pred.entropy.min() >= 0.0 and pred.entropy.max() <= 1.0
    assert pred.uncertainty == pytest.approx(float(pred.entropy.mean()), abs=1e-6)


def test_uint8_input_equals_float_input_and_grey_is_replicated():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (40, 60), dtype=np.uint8)
    p = Predictor(LocalNet(), device="cpu")
    a = p.predict(grey)
    b = p.predict(np.repeat(grey[..., None].astype(np.float32) / 255, 3, axis=2))
    np.testing.assert_allclose(a.probs, b.probs, atol=1e-6)


def test_input_adaptation_to_model_channels():
    rgba = np.zeros((4, 5, 4), np.uint16)
    rgba[..., 0] = 65535
    assert to_model_input(rgba, 3).shape == (4, 5, 3)
    assert to_model_input(rgba, 3)[0, 0, 0] == pytest.approx(1.0)
    grey = to_model_input(rgba, 1)
    assert grey.shape == (4, 5, 1) and grey[0, 0, 0] == pytest.approx(0.299)
    with pytest.raises(ValueError):
        to_model_input(np.zeros((4, 5, 2, 2)), 3)


def test_grayscale_model_with_rgb_normalisation():
    torch.manual_seed(0)
    model = ResUNet(num_classes=2, in_channels=1)
    pred = Predictor(model, Normalization(), device="cpu").predict(_image(50, 70))
    assert pred.mask.shape == (50, 70)


def test_model_training_mode_is_restored():
    model = LocalNet()
    model.train()
    Predictor(model, device="cpu").predict(_image(20, 20))
    assert model.training


def test_cancel_is_checked_between_tiles():
    net = LocalNet()
    asked = []

    def should_cancel() -> bool:
        asked.append(1)
        return len(asked) >= 3

    with pytest.raises(Cancelled):
        Predictor(net, device="cpu", tile=32, overlap=8).predict(_image(100, 100), should_cancel)
    assert len(asked) == 3 and len(net.calls) == 2


def _oom_when(predicate):
    original = Predictor._forward

    def forward(self, model, batch, device):
        if predicate(batch, device):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return original(self, model, batch, device)

    return forward


def test_out_of_memory_retries_with_halved_tiles(monkeypatch, caplog):
    img = _image(256, 256)
    expected = Predictor(LocalNet(), device="cpu").predict(img)
    monkeypatch.setattr(Predictor, "_forward", _oom_when(lambda b, d: b.shape[1] > 128))
    with caplog.at_level(logging.WARNING):
        pred = Predictor(LocalNet(), device="cpu", tile=512, overlap=16, min_tile=64).predict(img)
    assert pred.tile == 128  # 256 (the image fits one tile) -> 128
    np.testing.assert_allclose(pred.probs, expected.probs, atol=1e-5)
    notices = [r.getMessage() for r in caplog.records]
    assert notices == ["out of memory on cpu with 256 px tiles; retrying with 128 px tiles"]


def test_out_of_memory_on_gpu_falls_back_to_cpu(monkeypatch, caplog):
    net = LocalNet()
    predictor = Predictor(net, device="cpu", tile=256, min_tile=128)
    predictor.device = torch.device("cuda")  # pretend: every forward there runs out of memory
    monkeypatch.setattr(Predictor, "_forward", _oom_when(lambda b, d: d.type == "cuda"))
    with caplog.at_level(logging.WARNING):
        pred = predictor.predict(_image(200, 256))
    assert pred.device == "cpu" and pred.mask.shape == (200, 256)
    assert any("predicting on the CPU" in r.getMessage() for r in caplog.records)


def test_out_of_memory_on_cpu_at_smallest_tile_is_a_typed_error(monkeypatch):
    monkeypatch.setattr(Predictor, "_forward", _oom_when(lambda b, d: True))
    with pytest.raises(PredictionError, match="not enough memory"):
        Predictor(LocalNet(), device="cpu", tile=128, min_tile=64).predict(_image(100, 100))


def test_other_errors_are_not_swallowed(monkeypatch):
    def broken(self, model, batch, device):
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(Predictor, "_forward", broken)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        Predictor(LocalNet(), device="cpu").predict(_image(10, 10))


def test_resolve_device_choices():
    from resunet_gui.engine.device import DeviceError, resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            resolve_device("cuda:0")
    else:
        with pytest.raises(DeviceError, match="only"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
