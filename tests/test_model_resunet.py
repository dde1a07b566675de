"""ResUNet: any input size, grayscale input, freezing that survives .train()."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from resunet_gui.model.resunet import ResUNet

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def model3() -> ResUNet:
    torch.manual_seed(0)
    return ResUNet(num_classes=3).eval()


@pytest.mark.parametrize("size", [(64, 64), (100, 300), (256, 256), (513, 513), (31, 7)])
def test_output_shape_equals_input_shape(model3, size):
    with torch.no_grad():
        out = model3(torch.rand(1, 3, *size))
    assert tuple(out.shape) == (1, 3, *size)


def test_grayscale_model_takes_one_channel():
    model = ResUNet(num_classes=2, in_channels=1).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 1, 40, 72))
    assert tuple(out.shape) == (2, 2, 40, 72)


def test_odd_input_is_reflect_padded_to_32_and_cropped_back(model3):
    x = torch.rand(1, 3, 40, 50)
    padded = torch.nn.functional.pad(x, (0, 14, 0, 24), mode="reflect")
    with torch.no_grad():
        out = model3(x)
        ref = model3(padded)[..., :40, :50]
    torch.testing.assert_close(out, ref)


def test_channels_last_input_gives_same_logits(model3):
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        a = model3(x)
        b = model3(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_decoder_channels_are_configurable():
    model = ResUNet(num_classes=2, decoder_channels=(128, 64, 32, 16, 8))
    assert model.head.conv.in_channels == 8
    assert [b.conv2[0].out_channels for b in model.decoder.blocks] == [128, 64, 32, 16, 8]


def _encoder_bns(model: ResUNet) -> list[nn.BatchNorm2d]:
    return [m for m in model.encoder.modules() if isinstance(m, nn.BatchNorm2d)]


def test_freeze_encoder_survives_train_and_keeps_running_stats():
    model = ResUNet(num_classes=2)
    model.freeze_encoder()
    model.train()
    assert all(not p.requires_grad for p in model.encoder.parameters())
    assert all(p.requires_grad for p in model.decoder.parameters())
    assert all(not bn.training for bn in _encoder_bns(model))
    assert model.decoder.training
    before = [bn.running_mean.clone() for bn in _encoder_bns(model)]
    loss = model(torch.rand(2, 3, 64, 64) * 5 + 3).mean()
    loss.backward()
    after = [bn.running_mean for bn in _encoder_bns(model)]
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert all(p.grad is None for p in model.encoder.parameters())


def test_freeze_some_stages_then_unfreeze():
    model = ResUNet(num_classes=2)
    model.freeze_encoder(["stem", "layer1"])
    model.train()
    assert not model.encoder.conv1.weight.requires_grad
    assert not model.encoder.bn1.training and not model.encoder.layer1.training
    assert model.encoder.layer2.training and model.encoder.layer4[0].conv1.weight.requires_grad
    model.unfreeze_encoder()
    model.train()
    assert all(p.requires_grad for p in model.parameters())
    assert all(bn.training for bn in _encoder_bns(model))


def test_freeze_unknown_stage_is_rejected():
    with pytest.raises(ValueError, match="unknown encoder stage"):
        ResUNet(num_classes=2).freeze_encoder(["layer9"])
