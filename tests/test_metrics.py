"""Dice/IoU from confusion matrices, losses and augmentation on tiny hand-made arrays."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from resunet_gui.core.types import IGNORE_INDEX
from resunet_gui.engine.augment import augment_sample, random_crop
from resunet_gui.engine.losses import CEDiceLoss
from resunet_gui.engine.metrics import ScoreAccumulator, confusion_matrix, corrected_fraction
from resunet_gui.engine.settings import AugmentConfig


def test_dice_and_iou_match_hand_counts():
    truth = np.array([[0, 0, 1, 1]], np.uint8)
    pred = np.array([[0, 1, 1, 0]], np.uint8)
    acc = ScoreAccumulator(2)
    acc.add(pred, truth)
    s = acc.result()
    # class 1: TP=1 FP=1 FN=1 -> Dice 2/4, IoU 1/3
    assert s.dice[1] == pytest.approx(0.5)
    assert s.iou[1] == pytest.approx(1 / 3)
    assert s.score == pytest.approx(0.5)  # foreground classes only
    assert s.mean_dice == pytest.approx(0.5)


def test_ignored_pixels_do_not_count():
    truth = np.array([[1, IGNORE_INDEX, IGNORE_INDEX]], np.uint8)
    pred = np.array([[1, 0, 1]], np.uint8)
    cm = confusion_matrix(pred, truth, 2)
    assert cm.sum() == 1 and cm[1, 1] == 1
    assert corrected_fraction(pred, truth) == 0.0


def test_absent_class_is_not_averaged_in():
    truth = np.zeros((4, 4), np.uint8)
    acc = ScoreAccumulator(3)
    acc.add(truth.copy(), truth)
    s = acc.result()
    assert s.present == [True, False, False]
    assert s.mean_dice == 1.0


def test_corrected_fraction_counts_changed_pixels():
    truth = np.zeros((10, 10), np.uint8)
    truth[:5] = 1
    sugg = np.zeros_like(truth)
    assert corrected_fraction(sugg, truth) == pytest.approx(0.5)


def test_loss_ignores_ignore_pixels_and_rewards_the_truth():
    loss = CEDiceLoss(2)
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    target[:, :, 4:] = 1
    good = torch.zeros(1, 2, 8, 8)
    good[:, 1, :, 4:] = 8.0
    good[:, 0, :, :4] = 8.0
    bad = -good
    assert loss(good, target) < loss(bad, target)
    t2 = target.clone()
    t2[:, :2] = IGNORE_INDEX
    changed = good.clone()
    changed[:, :, :2] = -changed[:, :, :2]  # wrong only where ignored
    assert loss(changed, t2).item() == pytest.approx(loss(good, t2).item(), abs=1e-5)


def test_loss_with_class_weights_and_all_ignored_is_finite():
    loss = CEDiceLoss(2, class_weights=[0.2, 0.8])
    target = torch.full((1, 4, 4), IGNORE_INDEX, dtype=torch.long)
    out = loss(torch.randn(1, 2, 4, 4, requires_grad=True), target)
    assert torch.isfinite(out)
    out.backward()


def test_crop_pads_small_images_with_ignore():
    rng = np.random.default_rng(0)
    img = np.ones((10, 12, 1), np.float32)
    mask = np.ones((10, 12), np.uint8)
    ci, cm = random_crop(img, mask, 32, rng)
    assert ci.shape == (32, 32, 1) and cm.shape == (32, 32)
    assert (cm == 1).sum() == 120 and (cm == IGNORE_INDEX).sum() == 32 * 32 - 120


def test_augmentation_keeps_image_and_mask_aligned():
    rng = np.random.default_rng(1)
    mask = (np.arange(64 * 64).reshape(64, 64) % 7 == 0).astype(np.uint8)
    img = mask[..., None].astype(np.float32)
    cfg = AugmentConfig(crop=32, scale=(1.0, 1.0), brightness=0.0, contrast=0.0)
    for _ in range(20):
        ci, cm = augment_sample(img, mask, cfg, rng)
        assert np.array_equal(ci[..., 0] > 0.5, cm == 1)


def test_soft_dice_follows_probabilities_when_the_argmax_does_not_move():
    truth = np.array([[0, 1], [1, IGNORE_INDEX]], np.uint8)
    pred = np.zeros_like(truth)  # argmax says background everywhere: hard Dice 0
    scores = []
    for p_fg in (0.1, 0.4):
        probs = np.stack([np.full((2, 2), 1 - p_fg), np.full((2, 2), p_fg)]).astype(np.float32)
        acc = ScoreAccumulator(2)
        acc.add(pred, truth, probs)
        scores.append(acc.result())
    assert [s.score for s in scores] == [0.0, 0.0]
    # class 1 over the 3 labelled pixels: 2 * (2p) / (3p + 2)
    assert scores[0].soft_score == pytest.approx(2 * 0.2 / (0.3 + 2))
    assert scores[1].soft_score > scores[0].soft_score
    acc = ScoreAccumulator(2)
    acc.add(pred, truth)  # no probabilities: no soft score
    assert acc.result().soft_score is None
