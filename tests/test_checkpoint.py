"""Checkpoints: bit-exact round trip, no unpickling, clear errors for bad files."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from resunet_gui.core.errors import CheckpointError
from resunet_gui.core.types import ClassSpec, Normalization
from resunet_gui.model.checkpoint import (
    CheckpointMeta,
    load_checkpoint,
    read_meta,
    save_checkpoint,
    sidecar_path,
)
from resunet_gui.model.resunet import ResUNet

torch.set_num_threads(2)

CLASSES = [ClassSpec(0, "background", (0, 0, 0)), ClassSpec(1, "cell", (255, 0, 0)),
           ClassSpec(2, "membrane", (0, 255, 0))]


@pytest.fixture(scope="module")
def trained_like_model() -> ResUNet:
    """A model whose BN buffers differ from their defaults, as after training."""
    torch.manual_seed(0)
    model = ResUNet(num_classes=3, in_channels=1)
    model.train()
    with torch.no_grad():
        model(torch.rand(2, 1, 64, 64) * 3)
    return model.eval()


def _meta(**kw) -> CheckpointMeta:
    base = dict(classes=CLASSES, normalization=Normalization((0.5,), (0.25,)), in_channels=1,
                model_version="v002", parent_version="v001",
                training={"steps": 40, "dice": 0.81, "images": 12})
    base.update(kw)
    return CheckpointMeta(**base)


def test_round_trip_is_bit_exact(tmp_path, trained_like_model):
    path = tmp_path / "models" / "v002.safetensors"
    path.parent.mkdir()
    save_checkpoint(path, trained_like_model, _meta())
    model, meta = load_checkpoint(path)
    original = trained_like_model.state_dict()
    loaded = model.state_dict()
    assert set(original) == set(loaded)
    assert any("running_mean" in k for k in loaded) and any("num_batches_tracked" in k for k in loaded)
    for key, value in original.items():
        assert torch.equal(value, loaded[key]), key
    x = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        assert torch.equal(trained_like_model(x), model.eval()(x))
    assert meta.to_dict() == _meta(created=meta.created).to_dict()
    assert meta.class_specs()[2].name == "membrane"
    assert meta.normalization == Normalization((0.5,), (0.25,))
    assert (meta.num_classes, meta.in_channels, meta.parent_version) == (3, 1, "v001")


def test_sidecar_json_matches_embedded_metadata(tmp_path, trained_like_model):
    path = tmp_path / "v001.safetensors"
    save_checkpoint(path, trained_like_model, _meta())
    side = json.loads(sidecar_path(path).read_text())
    assert sidecar_path(path).name == "v001.json"
    assert side == read_meta(path).to_dict()
    assert side["architecture"] == "resnet18-unet" and side["training"]["dice"] == 0.81
    assert side["classes"][1] == {"id": 1, "name": "cell", "color": [255, 0, 0]}


def test_metadata_must_match_model(tmp_path, trained_like_model):
    with pytest.raises(CheckpointError, match="does not match"):
        save_checkpoint(tmp_path / "x.safetensors", trained_like_model, _meta(classes=CLASSES[:2]))


def test_corrupt_checkpoint_gives_clear_error(tmp_path, trained_like_model):
    path = tmp_path / "v001.safetensors"
    save_checkpoint(path, trained_like_model, _meta())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path)
    path.write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="corrupt or not a safetensors"):
        load_checkpoint(path)


def test_missing_checkpoint_gives_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "none.safetensors")


def _rewrite(path, tensors, meta_dict):
    save_file(tensors, str(path), metadata={"resunet_gui": json.dumps(meta_dict)})


def test_other_architecture_is_rejected(tmp_path, trained_like_model):
    path = tmp_path / "v001.safetensors"
    save_checkpoint(path, trained_like_model, _meta())
    meta = read_meta(path).to_dict()
    meta["architecture"] = "resnet50-fpn"
    _rewrite(path, load_file(str(path)), meta)
    with pytest.raises(CheckpointError, match="resnet50-fpn"):
        load_checkpoint(path)


def test_missing_tensor_is_rejected(tmp_path, trained_like_model):
    path = tmp_path / "v001.safetensors"
    save_checkpoint(path, trained_like_model, _meta())
    tensors = load_file(str(path))
    del tensors["head.conv.weight"]
    _rewrite(path, tensors, read_meta(path).to_dict())
    with pytest.raises(CheckpointError, match="missing tensors"):
        load_checkpoint(path)


def test_shape_mismatch_is_rejected(tmp_path, trained_like_model):
    path = tmp_path / "v001.safetensors"
    save_checkpoint(path, trained_like_model, _meta())
    meta = read_meta(path).to_dict()
    meta["num_classes"] = 5  # metadata claims 5 classes, tensors hold 3
    _rewrite(path, load_file(str(path)), meta)
    with pytest.raises(CheckpointError, match="head.conv.weight"):
        load_checkpoint(path)


def test_metadata_falls_back_to_sidecar(tmp_path, trained_like_model):
    path = tmp_path / "v001.safetensors"
    save_checkpoint(path, trained_like_model, _meta())
    save_file(load_file(str(path)), str(path))  # drop embedded metadata
    model, meta = load_checkpoint(path)
    assert meta.model_version == "v002" and model.num_classes == 3


def test_invalid_sidecar_json_is_reported(tmp_path, trained_like_model):
    path = tmp_path / "v001.safetensors"
    save_checkpoint(path, trained_like_model, _meta())
    save_file(load_file(str(path)), str(path))
    sidecar_path(path).write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(path)


def test_class_spec_has_one_json_form_with_the_key_only_on_request():
    from resunet_gui.core.types import ClassSpec

    spec = ClassSpec(2, "cell", (1, 2, 3), key="c")
    assert spec.to_dict() == {"id": 2, "name": "cell", "color": [1, 2, 3]}
    assert spec.to_dict(with_key=True) == {"id": 2, "name": "cell", "color": [1, 2, 3], "key": "c"}
