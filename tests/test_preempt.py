"""Pre-emption points: a training step or an evaluation piece stops at the next
convolution once the engine is interrupted (issue 17, item 8), counted in steps."""
from __future__ import annotations

import pytest
from synthetic import make_blob_project
from torch import nn

from resunet_gui.core.project import Project
from resunet_gui.engine.preempt import Preempted
from resunet_gui.engine.project_engine import EngineConfig, ProjectEngine
from resunet_gui.engine.settings import TrainConfig


@pytest.fixture
def engine(tmp_path, one_torch_thread):
    folder = make_blob_project(tmp_path / "p", n=4)
    with Project.open(folder) as project:
        eng = ProjectEngine(project, EngineConfig(
            device="cpu", weights="none", min_eval_steps=1,
            train=TrainConfig(steps_per_chunk=5, crop=64, batch_size=2)))
        eng.notify_done(project.stems())
        yield eng


def _interrupt_after(engine: ProjectEngine, model, backward_calls: int) -> None:
    """Interrupt (as closing the window does) once the gradient has passed N convolutions."""
    seen = []

    def hook(_module, _grad_in, _grad_out):  # noqa: ANN001, ANN202
        seen.append(1)
        if len(seen) == backward_calls:
            engine.interrupt()

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.register_full_backward_hook(hook)


def test_interrupt_abandons_a_training_step_mid_backward(engine):
    _interrupt_after(engine, engine.trainer.model, backward_calls=3)
    with pytest.raises(Preempted):
        engine.train_chunk()
    assert engine.trainer.step_count == 0  # the chunk of 5 steps ended inside its first


def test_interrupt_stops_an_evaluation_piece(engine):
    engine.train_chunk()  # 5 steps >= min_eval_steps: the next chunk evaluates
    assert engine.trainer.step_count == 5
    engine.interrupt()
    with pytest.raises(Preempted):
        for _ in range(50):
            engine.train_chunk()
    assert engine.trainer.step_count == 5  # no training step ran after the interrupt
