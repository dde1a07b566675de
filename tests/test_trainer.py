"""Trainer: learns a tiny synthetic set, modes freeze what they say, OOM halves the batch."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from resunet_gui.engine.dataset import CropDataset, make_sample
from resunet_gui.engine.losses import balanced_weights
from resunet_gui.engine.metrics import ScoreAccumulator
from resunet_gui.engine.predictor import Predictor
from resunet_gui.engine.settings import TrainConfig
from resunet_gui.engine.trainer import Trainer, apply_mode, default_mode
from resunet_gui.model.resunet import ResUNet


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(n)


def blobs(n: int = 2, size: int = 64, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        m = np.zeros((size, size), np.uint8)
        for _ in range(2):
            cy, cx = (int(v) for v in rng.integers(12, size - 12, 2))
            cv2.circle(m, (cx, cy), int(rng.integers(6, 11)), 1, -1)
        img = rng.random((size, size, 1)).astype(np.float32) * 0.3
        img[m == 1] += 0.6
        out.append(make_sample(f"b{i}", img, m))
    return out


def small_config(**kw) -> TrainConfig:
    kw.setdefault("crop", 64)
    kw.setdefault("batch_size", 2)
    return TrainConfig(**kw)


def test_trainer_overfits_tiny_synthetic_set():
    samples = blobs(2)
    model = ResUNet(2, decoder_channels=(64, 32, 16, 16, 8))
    tr = Trainer(model, small_config(lr=5e-3, warmup_steps=3), "cpu", dataset=CropDataset(samples))
    first = tr.run_chunk(3).loss
    for _ in range(4):
        last = tr.run_chunk(5).loss
    assert last < 0.6 * first
    tr.recalibrate_bn()
    pred = Predictor(model, tr.normalization, "cpu")
    acc = ScoreAccumulator(2)
    for s in samples:
        acc.add(pred.predict(s.image.astype(np.float32)).mask, s.mask)
    assert acc.result().score > 0.85


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_decoder_mode_leaves_encoder_weights_and_bn_stats_unchanged():
    model = ResUNet(2, decoder_channels=(32, 16, 16, 8, 8))
    enc_before, dec_before = _state(model.encoder), _state(model.decoder)
    tr = Trainer(model, small_config(mode="decoder"), "cpu", dataset=CropDataset(blobs(1)))
    tr.run_chunk(3)
    tr.recalibrate_bn()
    for k, v in model.encoder.state_dict().items():
        assert torch.equal(v, enc_before[k]), k
    assert any(not torch.equal(v, dec_before[k]) for k, v in model.decoder.state_dict().items())


def test_decoder_plus_late_trains_only_the_late_encoder_stages():
    model = ResUNet(2, decoder_channels=(32, 16, 16, 8, 8))
    before = _state(model.encoder)
    tr = Trainer(model, small_config(mode="decoder+late"), "cpu", dataset=CropDataset(blobs(1)))
    tr.run_chunk(2)
    after = model.encoder.state_dict()
    assert all(torch.equal(after[k], before[k]) for k in before
               if k.startswith(("conv1", "bn1", "layer1", "layer2")))
    assert any(not torch.equal(after[k], before[k]) for k in before if k.startswith("layer4"))


def test_default_mode_trains_everything_without_pretrained_weights():
    assert default_mode(True)[0] == "decoder"
    mode, reason = default_mode(False)
    assert mode == "all" and "no pretrained" in reason
    model = ResUNet(2)
    apply_mode(model, "decoder")
    apply_mode(model, "all")
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError):
        apply_mode(model, "head-only")


def test_out_of_memory_halves_the_batch_and_says_so(monkeypatch):
    model = ResUNet(2, decoder_channels=(32, 16, 16, 8, 8))
    tr = Trainer(model, small_config(batch_size=4), "cpu", dataset=CropDataset(blobs(1)))
    real = tr._batch
    calls = {"n": 0}

    def flaky(bs):
        calls["n"] += 1
        if bs > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(bs)

    monkeypatch.setattr(tr, "_batch", flaky)
    rep = tr.run_chunk(2)
    assert rep.batch_size == 2 and tr.batch_size == 2
    assert "batch halved to 2" in rep.message
    assert rep.step == 2


def test_bn_recalibration_uses_current_weights_exactly():
    model = ResUNet(2, decoder_channels=(32, 16, 16, 8, 8))
    tr = Trainer(model, small_config(bn_recalibration_batches=2), "cpu",
                 dataset=CropDataset(blobs(2)))
    tr.run_chunk(2)
    bn = model.decoder.modules()
    bns = [m for m in bn if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.running_mean.fill_(123.0)
    n = tr.recalibrate_bn()
    assert n > 0 and not model.training
    assert all(float(m.running_mean.abs().max()) < 100 for m in bns)
    assert all(m.momentum == 0.1 for m in bns)


def test_weight_average_follows_the_weights_with_the_configured_decay():
    model = ResUNet(2, decoder_channels=(32, 16, 16, 8, 8))
    tr = Trainer(model, small_config(ema_decay=0.75, mode="decoder"), "cpu",
                 dataset=CropDataset(blobs(1)))
    start = _state(model)
    tr.run_chunk(1)
    ema, now = tr.candidate.state_dict(), model.state_dict()
    assert tr.candidate is tr.ema and tr.ema is not model
    name = "decoder.blocks.0.conv1.0.weight"
    assert not torch.equal(now[name], start[name])
    assert torch.allclose(ema[name], 0.75 * start[name] + 0.25 * now[name], atol=1e-6)
    for k, v in tr.ema.encoder.state_dict().items():  # frozen stages are not averaged
        assert torch.equal(v, start["encoder." + k]), k
    assert not any(p.requires_grad for p in tr.ema.parameters())
    tr.reset_ema()
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in tr.ema.state_dict().items())


def test_bn_recalibration_of_the_average_leaves_the_training_model_alone():
    model = ResUNet(2, decoder_channels=(32, 16, 16, 8, 8))
    tr = Trainer(model, small_config(ema_decay=0.9), "cpu", dataset=CropDataset(blobs(2)))
    tr.run_chunk(2)
    before = _state(model)
    assert tr.recalibrate_bn(model=tr.candidate) > 0
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_learning_rate_warms_up_then_decays_slowly_without_reaching_zero():
    model = ResUNet(2, decoder_channels=(32, 16, 16, 8, 8))
    tr = Trainer(model, small_config(lr=1e-3, warmup_steps=2, decay_steps=3), "cpu",
                 dataset=CropDataset(blobs(1)))
    lrs = []
    for _ in range(6):
        tr.run_chunk(1)
        lrs.append(tr.optimizer.param_groups[0]["lr"])
    assert lrs[0] == pytest.approx(0.5e-3)  # warm-up
    assert lrs[1] == pytest.approx(1e-3 * (1 + 1 / 3) ** -0.5)
    assert all(a > b > 0 for a, b in zip(lrs[1:], lrs[2:], strict=False))
    assert lrs[5] == pytest.approx(1e-3 * (1 + 5 / 3) ** -0.5)


def test_a_stage_frozen_by_a_mode_switch_keeps_its_final_weights_in_the_average():
    model = ResUNet(2, decoder_channels=(32, 16, 16, 8, 8))
    tr = Trainer(model, small_config(ema_decay=0.9, mode="all"), "cpu",
                 dataset=CropDataset(blobs(1)))
    tr.run_chunk(2)
    name = "encoder.layer1.0.conv1.weight"
    assert not torch.equal(tr.ema.state_dict()[name], model.state_dict()[name])  # lagging
    tr.set_mode("decoder")
    for k, v in tr.ema.encoder.named_parameters():
        assert torch.equal(v, dict(model.encoder.named_parameters())[k]), k
    assert not any(p.requires_grad for p in tr.ema.parameters())


def test_balanced_weights_favour_the_rare_class_by_the_square_root_of_its_rarity():
    w = balanced_weights(np.array([780, 220, 0]), 0.5)
    assert w[1] / w[0] == pytest.approx((780 / 220) ** 0.5, rel=1e-5)
    assert w[:2].mean() == pytest.approx(1.0)
    assert torch.isfinite(w).all() and w[2] == w[1]  # an absent class gets no infinite weight
    capped = balanced_weights(np.array([10**6, 1]), 1.0, max_ratio=10.0)
    assert capped[1] / capped[0] == pytest.approx(10.0)
    assert torch.equal(balanced_weights(np.array([5, 0]), 0.5), torch.ones(2))


def test_class_balance_reweights_cross_entropy_from_the_done_masks():
    samples = blobs(2)
    counts = np.bincount(np.concatenate([s.mask.ravel() for s in samples]), minlength=2)
    tr = Trainer(ResUNet(2, decoder_channels=(64, 32, 16, 16, 8)),
                 small_config(class_balance=0.5, dice_weight=0.0), "cpu",
                 dataset=CropDataset(samples))
    expected = balanced_weights(counts, 0.5)
    assert torch.allclose(tr.loss_fn.ce_balance, expected)
    logits = torch.randn(2, 2, 8, 8)
    target = torch.randint(0, 2, (2, 8, 8))
    target[0, 0, 0] = 255
    plain = torch.nn.functional.cross_entropy(logits, target, weight=expected, ignore_index=255)
    assert tr.loss_fn(logits, target).item() == pytest.approx(plain.item(), rel=1e-6)
    # new done images with another class balance update the weights
    all_fg = make_sample("fg", np.ones((64, 64, 1), np.float32), np.ones((64, 64), np.uint8))
    tr.set_dataset(CropDataset([*samples, all_fg]))
    assert tr.loss_fn.ce_balance[1] < expected[1]
