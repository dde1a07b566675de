"""Pretrained encoder weights: checksum, corrupt files and offline fall back to random init."""
from __future__ import annotations

import hashlib
import logging
import urllib.error
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torchvision.models import resnet18

from resunet_gui.model import weights
from resunet_gui.model.encoder import ResNet18Encoder
from resunet_gui.model.resunet import ResUNet
from resunet_gui.model.weights import load_encoder_weights

torch.set_num_threads(2)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tv_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(123)
    return resnet18(weights=None).state_dict()


@pytest.fixture
def safetensors_file(tmp_path, tv_state) -> Path:
    path = tmp_path / "resnet18-random.safetensors"
    save_file({k: v.contiguous() for k, v in tv_state.items()}, str(path))
    return path


def _encoder_equals(encoder: ResNet18Encoder, state: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(v, state[k]) for k, v in encoder.state_dict().items())


def test_good_local_safetensors_file_with_its_sha_loads(safetensors_file, tv_state):
    model = ResUNet(num_classes=2)
    report = load_encoder_weights(model, str(safetensors_file), sha256=_sha(safetensors_file))
    assert report.loaded, report.message
    assert report.sha256 == _sha(safetensors_file)
    assert "sha256 verified" in report.message
    assert _encoder_equals(model.encoder, tv_state)


def test_pth_file_loads_with_weights_only(tmp_path, tv_state):
    path = tmp_path / "weights.pth"
    torch.save(tv_state, path)
    model = ResUNet(num_classes=2)
    report = load_encoder_weights(model, str(path), sha256=_sha(path))
    assert report.loaded, report.message
    assert _encoder_equals(model.encoder, tv_state)


def test_wrong_sha_is_rejected_and_model_keeps_random_init(safetensors_file, caplog):
    model = ResUNet(num_classes=2)
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    with caplog.at_level(logging.WARNING):
        report = load_encoder_weights(model, str(safetensors_file), sha256="0" * 64)
    assert not report.loaded
    assert "checksum mismatch" in report.message
    assert _encoder_equals(model.encoder, before)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "random init" in warnings[0].getMessage()


def test_known_torchvision_file_name_is_checked_against_known_sha(tmp_path, tv_state):
    path = tmp_path / weights.IMAGENET_FILE  # right name, wrong content
    torch.save(tv_state, path)
    report = load_encoder_weights(ResUNet(num_classes=2), str(path))
    assert not report.loaded and "checksum mismatch" in report.message


@pytest.mark.parametrize("content", [b"", b"not a weights file at all", b"PK\x03\x04garbage"])
@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_corrupt_file_gives_report_not_traceback(tmp_path, content, suffix):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    report = load_encoder_weights(ResUNet(num_classes=2), str(path))
    assert not report.loaded
    assert "cannot read weights file" in report.message


def test_pickled_object_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"conv1.weight": torch.zeros(1), "payload": Path("x")}, path)
    report = load_encoder_weights(ResUNet(num_classes=2), str(path))
    assert not report.loaded and "cannot read" in report.message


def test_state_dict_of_another_network_is_rejected_before_any_copy(tmp_path, tv_state):
    path = tmp_path / "other.safetensors"
    state = dict(tv_state)
    state["layer4.1.conv2.weight"] = torch.zeros(512, 512, 1, 1)
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    model = ResUNet(num_classes=2)
    before = model.encoder.conv1.weight.clone()
    report = load_encoder_weights(model, str(path))
    assert not report.loaded and "layer4.1.conv2.weight" in report.message
    assert torch.equal(model.encoder.conv1.weight, before)


def test_missing_file_is_reported(tmp_path):
    report = load_encoder_weights(ResUNet(num_classes=2), str(tmp_path / "nope.pth"))
    assert not report.loaded and "not found" in report.message


def test_imagenet_missing_from_cache_falls_back_to_random_init_without_download(
        tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    calls = []

    def offline(*args, **kwargs):
        calls.append(args)
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(weights.urllib.request, "urlopen", offline)
    with caplog.at_level(logging.WARNING):
        report = load_encoder_weights(ResUNet(num_classes=2), "imagenet")
    assert not report.loaded and calls == []  # only `doctor --download-weights` downloads
    assert "not in cache" in report.message and "doctor --download-weights" in report.message
    assert not list(tmp_path.rglob("*.pth")) and not list(tmp_path.rglob(".download-*"))
    assert sum(r.levelno == logging.WARNING for r in caplog.records) == 1


def test_imagenet_uses_cached_file_after_sha_check(tmp_path, monkeypatch, tv_state):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = weights.imagenet_cache_path()
    cached.parent.mkdir(parents=True)
    torch.save(tv_state, cached)
    monkeypatch.setitem(weights.KNOWN_SHA256, weights.IMAGENET_FILE, _sha(cached))
    model = ResUNet(num_classes=2)
    report = load_encoder_weights(model, "imagenet")
    assert report.loaded, report.message
    assert _encoder_equals(model.encoder, tv_state)


def test_grayscale_model_gets_summed_rgb_filters(safetensors_file, tv_state):
    model = ResUNet(num_classes=2, in_channels=1)
    report = load_encoder_weights(model, str(safetensors_file))
    assert report.loaded, report.message
    expected = tv_state["conv1.weight"].sum(dim=1, keepdim=True)
    torch.testing.assert_close(model.encoder.conv1.weight, expected)
    # a grey image gives the same first-layer response as its RGB replica
    grey = torch.rand(1, 1, 32, 32)
    rgb_conv = torch.nn.functional.conv2d(grey.repeat(1, 3, 1, 1), tv_state["conv1.weight"],
                                          stride=2, padding=3)
    torch.testing.assert_close(model.encoder.conv1(grey), rgb_conv, rtol=1e-4, atol=1e-4)


def test_none_source_leaves_random_init():
    report = load_encoder_weights(ResUNet(num_classes=2), "none")
    assert not report.loaded and "random" in report.message
