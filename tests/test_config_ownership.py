"""Configs are plain data that no one changes behind its owner's back (issue 18 item 6)."""
from __future__ import annotations

from dataclasses import fields

from synthetic import make_blob_project

from resunet_gui.engine.settings import AugmentConfig, EngineConfig, SimConfig, TrainConfig


def test_train_config_leaves_the_callers_augment_config_unchanged():
    augment = AugmentConfig(crop=128)
    train = TrainConfig(crop=64, augment=augment)
    assert train.augment.crop == 64
    assert augment.crop == 128


def test_simulation_defaults_are_the_training_defaults():
    train = TrainConfig()
    sim = SimConfig()
    shared = {f.name for f in fields(SimConfig)} & {f.name for f in fields(TrainConfig)}
    assert {"crop", "batch_size", "lr", "ema_decay", "class_balance", "seed"} <= shared
    for name in shared:
        assert getattr(sim, name) == getattr(train, name), name


def test_project_engine_does_not_change_the_callers_config(tmp_path):
    from resunet_gui.core.project import Project
    from resunet_gui.engine.project_engine import ProjectEngine

    config = EngineConfig(device="cpu", weights="none", mode="decoder",
                          train=TrainConfig(mode="all", crop=32, batch_size=2))
    folder = make_blob_project(tmp_path / "p", n=2)
    with Project.open(folder) as project:
        engine = ProjectEngine(project, config)
        assert engine.trainer.config.mode == "decoder"
    assert config.train.mode == "all" and config.mode == "decoder"
    assert config.train.augment.crop == 32
