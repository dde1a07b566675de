"""Prediction runs a batch-norm-folded copy of the served model: same output, fresher weights."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from resunet_gui.engine.predictor import Predictor
from resunet_gui.model.batchnorm_fold import WeightsStamp, folded_copy
from resunet_gui.model.resunet import ResUNet

torch.set_num_threads(2)


def _model_with_real_statistics(seed: int = 0) -> ResUNet:
    """A ResUNet whose batch norms are not the identity (as after training)."""
    torch.manual_seed(seed)
    model = ResUNet(3)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def _image() -> np.ndarray:
    return np.random.default_rng(0).random((96, 128, 3), dtype=np.float32)


def test_the_folded_copy_has_no_batch_norm_and_gives_the_same_logits():
    model = _model_with_real_statistics()
    folded = folded_copy(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # original untouched
    x = torch.rand(1, 3, 64, 96)
    with torch.inference_mode():
        assert float((folded(x) - model(x)).abs().max()) < 1e-4


def test_prediction_with_the_folded_copy_equals_the_plain_model():
    model = _model_with_real_statistics()
    folded = Predictor(model, device="cpu").predict(_image())
    plain = Predictor(model, device="cpu", fold_batch_norm=False).predict(_image())
    np.testing.assert_allclose(folded.probs, plain.probs, atol=1e-5)
    assert (folded.mask == plain.mask).all()


def test_new_weights_loaded_into_the_served_model_are_used_by_the_next_prediction():
    served = _model_with_real_statistics(0)
    predictor = Predictor(served, device="cpu")
    before = predictor.predict(_image())
    served.load_state_dict(_model_with_real_statistics(1).state_dict())  # a version installed
    after = predictor.predict(_image())
    expected = Predictor(_model_with_real_statistics(1), device="cpu",
                         fold_batch_norm=False).predict(_image())
    np.testing.assert_allclose(after.probs, expected.probs, atol=1e-5)
    assert np.abs(after.probs - before.probs).max() > 1e-3


def test_the_weights_stamp_sees_an_optimiser_step_and_nothing_else():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    stamp = WeightsStamp(model)
    assert stamp.changed()  # first look
    assert not stamp.changed()
    model(torch.rand(2, 3, 8, 8)).sum().backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert stamp.changed()
    with torch.inference_mode():
        model.eval()(torch.rand(1, 3, 8, 8))
    assert not stamp.changed()


def test_the_mask_is_the_most_likely_class_with_first_index_on_ties():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 5, 1), nn.BatchNorm2d(5)).eval()
    model.in_channels = 3  # type: ignore[assignment]
    pred = Predictor(model, device="cpu").predict(_image())
    assert (pred.mask == pred.probs.argmax(0)).all()
