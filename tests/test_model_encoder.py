"""ResNet18Encoder: pyramid shapes and equality with the classic hook-based extraction."""
from __future__ import annotations

import pytest
import torch
from torchvision.models import resnet18
from torchvision.models.feature_extraction import create_feature_extractor

from resunet_gui.model.encoder import ResNet18Encoder

torch.set_num_threads(2)

PYRAMID_256 = [(64, 128, 128), (64, 64, 64), (128, 32, 32), (256, 16, 16), (512, 8, 8)]


def test_encoder_returns_five_level_pyramid_for_256_input():
    enc = ResNet18Encoder().eval()
    with torch.no_grad():
        feats = enc(torch.rand(1, 3, 256, 256))
    assert [tuple(f.shape[1:]) for f in feats] == PYRAMID_256
    assert tuple(f.shape[1] for f in feats) == enc.out_channels


def test_encoder_state_dict_uses_torchvision_names_without_fc():
    enc_keys = set(ResNet18Encoder().state_dict())
    tv_keys = {k for k in resnet18(weights=None).state_dict() if not k.startswith("fc.")}
    assert enc_keys == tv_keys


def test_direct_encoder_equals_hook_based_extraction_feature_for_feature():
    torch.manual_seed(0)
    enc = ResNet18Encoder().eval()
    tv = resnet18(weights=None)
    missing, unexpected = tv.load_state_dict(enc.state_dict(), strict=False)
    assert set(missing) == {"fc.weight", "fc.bias"} and not unexpected
    extractor = create_feature_extractor(
        tv.eval(), return_nodes={"relu": "0", "layer1": "1", "layer2": "2", "layer3": "3",
                                 "layer4": "4"})
    x = torch.randn(2, 3, 96, 160)
    with torch.no_grad():
        direct = enc(x)
        hooked = extractor(x)
    assert len(direct) == len(hooked) == 5
    for i, feat in enumerate(direct):
        torch.testing.assert_close(feat, hooked[str(i)], rtol=0, atol=0)


def test_forward_hooks_on_torchvision_model_give_the_same_features():
    torch.manual_seed(1)
    enc = ResNet18Encoder().eval()
    tv = resnet18(weights=None).eval()
    tv.load_state_dict(enc.state_dict(), strict=False)
    captured: list[torch.Tensor] = []
    handles = [getattr(tv, name).register_forward_hook(lambda m, i, o: captured.append(o))
               for name in ("relu", "layer1", "layer2", "layer3", "layer4")]
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        tv(x)
        direct = enc(x)
    for h in handles:
        h.remove()
    for a, b in zip(direct, captured, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("in_channels", [1, 4])
def test_encoder_accepts_other_channel_counts(in_channels):
    enc = ResNet18Encoder(in_channels).eval()
    with torch.no_grad():
        feats = enc(torch.rand(1, in_channels, 64, 64))
    assert enc.conv1.in_channels == in_channels
    assert tuple(feats[-1].shape) == (1, 512, 2, 2)
