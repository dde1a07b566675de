"""Refine from strokes: the head copy learns from the painted pixels; service behaviour."""
from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
import torch

from resunet_gui.core.types import Normalization
from resunet_gui.engine.inference_engine import InferenceEngine
from resunet_gui.engine.refine import Strokes, refine_prediction
from resunet_gui.engine.service import ModelService
from resunet_gui.model.resunet import ResUNet

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _scene():
    truth = np.zeros((96, 96), np.uint8)
    cv2.circle(truth, (25, 25), 12, 1, -1)
    cv2.circle(truth, (70, 70), 12, 1, -1)
    rng = np.random.default_rng(0)
    image = (rng.random((96, 96, 3)) * 0.3).astype(np.float32)
    image[truth == 1] += 0.6
    painted = np.zeros_like(truth, bool)
    painted[22:28, 13:37] = True  # a stroke across disc A...
    painted[50:54, 5:40] = True  # ...and one over the background
    return image, truth, Strokes(truth.copy(), painted)


def test_refine_learns_the_painted_class_on_the_unpainted_object():
    torch.manual_seed(0)
    model = ResUNet(2).eval()
    image, truth, strokes = _scene()
    before = refine_prediction(model, Normalization(), image, Strokes(truth, ~np.ones_like(
        strokes.painted)))  # no strokes: the model's own answer
    after = refine_prediction(model, Normalization(), image, strokes)
    disc_b = np.zeros_like(truth, bool)
    cv2.circle(disc_b.view(np.uint8), (70, 70), 10, 1, -1)
    acc_before = (before.mask == truth)[~strokes.painted].mean()
    acc_after = (after.mask == truth)[~strokes.painted].mean()
    assert acc_after > acc_before + 0.3
    assert after.mask[disc_b].mean() > 0.5  # the object the user never touched


def test_a_refine_is_superseded_by_a_newer_current_request_like_a_suggestion():
    gate = threading.Event()
    results, started = [], threading.Event()

    class Slow(InferenceEngine):
        def predict(self, image, should_cancel):  # noqa: ANN001, ANN201
            started.set()
            gate.wait(30)
            return super().predict(image, should_cancel)

    svc = ModelService(lambda: Slow(tile=64), on_result=results.append, auto_train=False)
    try:
        image, _truth, strokes = _scene()
        svc.request_suggestion("a", image)  # keeps the worker busy
        assert started.wait(60)
        rid = svc.request_refine("a", image, strokes)
        newer = svc.request_suggestion("a", image)  # the user moved on: refine goes stale
        gate.set()
        deadline = threading.Event()
        while not any(r.request_id == newer for r in results) and not deadline.wait(0.05):
            pass
        assert rid not in [r.request_id for r in results]
        rid2 = svc.request_refine("a", image, strokes)
        while not any(r.request_id == rid2 for r in results):
            deadline.wait(0.05)
        got = next(r for r in results if r.request_id == rid2)
        assert got.mask.shape == (96, 96)
    finally:
        gate.set()
        svc.shutdown(30)


def test_refine_of_an_image_painted_everywhere_returns_a_mask():
    torch.manual_seed(0)
    image, truth, _strokes = _scene()
    out = refine_prediction(ResUNet(2).eval(), Normalization(), image,
                            Strokes(truth, np.ones_like(truth, bool)))
    assert out.mask.shape == truth.shape
