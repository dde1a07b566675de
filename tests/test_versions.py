"""Model versions: keep only if better, exact rollback, export/import, status text."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from synthetic import make_blob_project

from resunet_gui.core.project import Project
from resunet_gui.core.types import ImageStatus, Normalization
from resunet_gui.engine.metrics import scores_from_confusion
from resunet_gui.engine.project_engine import EngineConfig, ProjectEngine
from resunet_gui.engine.settings import TrainConfig
from resunet_gui.engine.versions import KeepBest, VersionInfo, VersionStore
from resunet_gui.model.checkpoint import CheckpointMeta, load_checkpoint, save_checkpoint
from resunet_gui.model.resunet import ResUNet

pytestmark = pytest.mark.usefixtures("one_torch_thread")



@pytest.fixture
def engine(tmp_path):
    project = Project.open(make_blob_project(tmp_path / "p"))
    assert len(project.stems_with_status(ImageStatus.DONE)) == 5
    cfg = EngineConfig(device="cpu", weights="none",
                       train=TrainConfig(crop=64, batch_size=2, steps_per_chunk=1))
    eng = ProjectEngine(project, cfg)
    eng.notify_done(project.stems())
    yield eng
    project.close()


def predict_constant(model, cls: int) -> None:
    """Make a model answer ``cls`` everywhere (deterministic scores for keep-best tests)."""
    with torch.no_grad():
        model.head.conv.weight.zero_()
        model.head.conv.bias.copy_(torch.tensor([10.0, -10.0] if cls == 0 else [-10.0, 10.0]))


def test_check_set_is_every_fifth_done_image(engine):
    assert engine.check_stems == ["im4"]
    assert len(engine.train_stems) == 4


def test_better_candidate_becomes_a_version_and_serves(engine):
    predict_constant(engine.serving, 0)  # current: Dice 0 on the blob class
    engine.trainer.run_chunk(1)
    predict_constant(engine.trainer.candidate, 1)  # candidate: all blob, Dice > 0
    info = engine.evaluate_candidate()
    assert info is not None and info.name == "v001" and info.score > 0
    assert engine.store.current() == "v001" and engine.model_version() == "v001"
    for k, v in engine.serving.state_dict().items():
        assert torch.equal(v, engine.trainer.candidate.state_dict()[k])
    meta = json.loads((engine.store.dir / "v001.json").read_text())
    assert meta["training"]["check_images"] == 1 and meta["training"]["train_images"] == 4
    assert "blob" in meta["training"]["metrics"]["dice"]


def test_worse_version_is_not_swapped_in(engine):
    predict_constant(engine.serving, 1)  # current: all blob, Dice > 0
    served = {k: v.clone() for k, v in engine.serving.state_dict().items()}
    engine.trainer.run_chunk(1)
    predict_constant(engine.trainer.candidate, 0)  # candidate predicts no blob: Dice 0
    assert engine.evaluate_candidate() is None
    assert engine.store.list_versions() == []
    assert engine.model_version() is None
    for k, v in engine.serving.state_dict().items():
        assert torch.equal(v, served[k]), k
    assert "kept the current model" in engine.message


def test_rollback_restores_exact_weights(engine):
    predict_constant(engine.serving, 0)
    engine.trainer.run_chunk(1)
    predict_constant(engine.trainer.candidate, 1)
    v1 = engine.evaluate_candidate()
    saved, _ = load_checkpoint(v1.path)
    engine.trainer.run_chunk(2)
    v2 = engine.save_current_training()
    assert v2.name == "v002"
    with torch.no_grad():
        for p in engine.serving.parameters():
            p.add_(torch.randn_like(p))
    info = engine.rollback("v001")
    assert info.name == "v001" and engine.store.current() == "v001"
    ref = saved.state_dict()
    for model in (engine.serving, engine.trainer.model, engine.trainer.candidate):
        for k, v in model.state_dict().items():
            assert torch.equal(v.cpu(), ref[k]), k
    assert [v.name for v in engine.list_versions()] == ["v001", "v002"]


def test_export_and_load_external_checkpoint(engine, tmp_path):
    v = engine.save_current_training()
    out = engine.export_version(v.name, tmp_path / "shared.safetensors")
    assert out.is_file() and out.with_suffix(".json").is_file()
    info = engine.load_external(out)
    assert info.name == "v002" and info.source == "imported"
    a, _ = load_checkpoint(out)
    for k, t in engine.serving.state_dict().items():
        assert torch.equal(t.cpu(), a.state_dict()[k])


def test_checkpoint_with_other_decoder_widths_and_normalisation_loads_serves_and_trains(
        engine, tmp_path):
    other = ResUNet(2, decoder_channels=(32, 16, 16, 8, 8))
    norm = Normalization(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    path = save_checkpoint(tmp_path / "other.safetensors", other,
                           CheckpointMeta(classes=[], num_classes=2, normalization=norm))
    assert engine.serving.decoder_channels != other.decoder_channels
    step = engine.trainer.step_count
    info = engine.load_external(path)
    assert engine.model_version() == info.name
    for model in (engine.serving, engine.trainer.model, engine.trainer.candidate):
        assert model.decoder_channels == (32, 16, 16, 8, 8)
        for k, t in model.state_dict().items():
            assert torch.equal(t.cpu(), other.state_dict()[k]), k
    assert engine.normalization == norm == engine.trainer.normalization
    image = np.zeros((64, 64, 3), np.float32)
    assert engine.predict(image, lambda: False).mask.shape == (64, 64)
    report = engine.trainer.run_chunk(1)  # the training data survived the swap
    assert report.step == step + 1 and np.isfinite(report.loss)


def test_keep_best_compares_on_the_same_check_set(tmp_path):
    store = VersionStore(tmp_path)
    keep = KeepBest(store)
    good = scores_from_confusion(np.array([[90, 0], [2, 8]]))
    rescored = []

    def current():
        rescored.append(1)
        return 0.9

    d = keep.decide(("a",), good, current, save=lambda: pytest.fail("must not save"))
    assert not d.accepted and d.current_score == 0.9
    keep.decide(("a",), good, current, save=lambda: pytest.fail("must not save"))
    assert len(rescored) == 1  # cached for the same check set
    keep.decide(("a", "b"), good, current, save=lambda: pytest.fail("must not save"))
    assert len(rescored) == 2  # new check set -> current rescored


def test_status_line_is_plain_language():
    v = VersionInfo("v007", Path("v007.safetensors"), score=0.84, check_images=6)
    assert v.status_line(0.79) == "Model v007: Dice 0.84 on 6 check images, up from 0.79"


def test_new_done_images_do_not_postpone_evaluation(engine):
    engine.cfg.min_eval_steps = 2
    for _ in range(12):
        engine.train_chunk()  # one step (or one evaluation piece) per chunk in this fixture
        engine.notify_done(["im0"])  # a re-saved mask arrives between chunks
        if engine.last_check_dice is not None:
            break
    assert engine.last_check_dice is not None


def test_evaluation_runs_in_pieces_of_at_most_one_check_image(tmp_path):
    """A suggestion waits for one piece of an evaluation, never for the whole check set."""
    project = Project.open(make_blob_project(tmp_path / "p", n=10))
    cfg = EngineConfig(device="cpu", weights="none", min_eval_steps=1,
                       train=TrainConfig(crop=64, batch_size=2, steps_per_chunk=1,
                                         bn_recalibration_batches=3, ema_decay=0.9))
    eng = ProjectEngine(project, cfg)
    eng.notify_done(project.stems())
    assert len(eng.check_stems) == 2
    calls: list[str] = []
    for name, pred in (("candidate", eng.scorer), ("served", eng.predictor)):
        orig = pred.predict
        pred.predict = lambda im, *a, _o=orig, _n=name: (calls.append(_n), _o(im, *a))[1]
    while eng._evaluation is None:  # train until an evaluation is due
        eng.train_chunk()
    steps = eng.trainer.step_count
    pieces, changed = 0, None
    while changed is None and pieces < 20:
        before = len(calls)
        _status, changed = eng.train_chunk()
        pieces += 1
        assert len(calls) - before <= 1  # one check image per piece at most
        if eng._evaluation is None:
            break
    assert eng.trainer.step_count == steps  # training waited for the evaluation
    assert calls == ["candidate"] * 2 + ["served"] * 2
    assert pieces == 3 + 2 + 2  # BN batches, candidate images, served images
    assert changed is not None or "kept the current model" in eng.message
    project.close()


def test_rollback_during_an_evaluation_abandons_it(engine):
    engine.cfg.min_eval_steps = 1
    v = engine.save_current_training()
    while engine._evaluation is None:
        engine.train_chunk()
    engine.train_chunk()  # first piece of the evaluation
    steps = engine.trainer.step_count
    engine.rollback(v.name)
    assert engine._evaluation is None
    _status, changed = engine.train_chunk()  # trains again
    assert changed is None and engine.trainer.step_count == steps + 1



def test_a_tie_on_dice_is_broken_by_soft_dice(tmp_path):
    """On a check image no model gets right yet (Dice 0 for all), learning must not stall."""
    keep = KeepBest(VersionStore(tmp_path))
    current = scores_from_confusion(np.array([[90, 0], [10, 0]]))
    current.soft_score = 0.10
    worse = scores_from_confusion(np.array([[90, 0], [10, 0]]))
    worse.soft_score = 0.05
    assert not keep.decide(("a",), worse, lambda: current,
                           save=lambda: pytest.fail("must not save")).accepted
    closer = scores_from_confusion(np.array([[90, 0], [10, 0]]))
    closer.soft_score = 0.30
    saved = []
    d = keep.decide(("a",), closer, lambda: pytest.fail("cached"),
                    save=lambda: saved.append(1) or VersionInfo("v001", tmp_path / "v001"))
    assert d.accepted and saved == [1]


def test_the_first_version_is_scored_early_and_later_ones_once_per_epoch(tmp_path):
    """A folder opened with many labels gets its first suggestions without waiting an epoch."""
    project = Project.open(make_blob_project(tmp_path / "p", n=10))
    cfg = EngineConfig(device="cpu", weights="none", min_eval_steps=2,
                       train=TrainConfig(crop=32, batch_size=2, steps_per_chunk=1))

    def steps_until_an_evaluation_is_due(eng: ProjectEngine) -> int:
        start = eng.trainer.step_count
        while eng._evaluation is None:
            eng.train_chunk()
        return eng.trainer.step_count - start

    fresh = ProjectEngine(project, cfg)
    fresh.notify_done(project.stems())
    assert fresh.version is None and fresh.trainer.steps_per_epoch() >= 8
    assert steps_until_an_evaluation_is_due(fresh) == 2

    served = ProjectEngine(project, cfg)
    served.notify_done(project.stems())
    predict_constant(served.serving, 0)
    predict_constant(served.trainer.candidate, 1)
    assert served.evaluate_candidate() is not None and served.version == "v001"
    epoch = served.trainer.steps_per_epoch()
    assert steps_until_an_evaluation_is_due(served) == epoch
    project.close()
