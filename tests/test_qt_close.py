"""Closing the window while a training chunk runs abandons the chunk at its next
pre-emption point, saves the edits and leaves (issue 17, item 8). Counted in optimiser
steps, not seconds: the chunk has 40 steps and closing must not wait for them."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from synthetic import make_blob_project

from resunet_gui.app import build_window
from resunet_gui.core.imageio import read_mask
from resunet_gui.qt.preferences import Preferences

CHUNK = 40


@pytest.fixture
def training_window(qtbot, tmp_path, one_torch_thread):
    from resunet_gui.engine.project_engine import EngineConfig, ProjectEngine
    from resunet_gui.engine.settings import TrainConfig

    engines, forwards = [], []

    def factory_for(project):  # noqa: ANN001, ANN202
        def build():  # noqa: ANN202
            cfg = EngineConfig(device="cpu", weights="none", min_eval_steps=10**6,
                               train=TrainConfig(steps_per_chunk=CHUNK, crop=64, batch_size=2))
            engine = ProjectEngine(project, cfg)
            engine.trainer.model.register_forward_pre_hook(
                lambda m, _x: forwards.append(1) if m.training else None)
            engines.append(engine)
            return engine
        return build

    w = build_window(Preferences(tmp_path / "prefs.ini"), engine_factory_for=factory_for)
    w.resize(900, 600)
    w.show()
    qtbot.waitExposed(w)
    w.engines, w.forwards = engines, forwards
    yield w
    w.close()


def test_close_during_a_training_chunk_abandons_it_saves_and_leaves(training_window, qtbot,
                                                                    tmp_path):
    w = training_window
    folder = make_blob_project(tmp_path / "p", n=4)
    errors = []
    assert w.open_folder(folder)
    w.bridge.trainingStatus.connect(lambda st: errors.append(st) if st.state == "error" else None)
    qtbot.waitUntil(lambda: len(w.forwards) >= 2, timeout=60_000)  # inside the first chunk
    stem = w.editor.stem
    vp = w.canvas.viewport()
    w.tools.set_value(1)
    at = [w.canvas.mapFromScene(QPointF(x, 32)) for x in (8, 20, 40, 56)]
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at[0])
    for p in at[1:]:
        QTest.mouseMove(vp, p)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at[-1])
    service = w.bridge.service
    w.close()
    assert not service.alive  # close returned after the worker ended
    assert w.engines[0].trainer.step_count < CHUNK, "close waited for the whole chunk"
    assert len(w.forwards) < CHUNK
    assert not [t for t in threading.enumerate() if t.name.startswith("resunet-model")]
    assert not errors  # an abandoned chunk is not reported as a training error
    saved = read_mask(folder / "masks" / f"{stem}.png")
    assert np.count_nonzero(saved[30:35, 10:50] == 1) > 0.9 * 5 * 40  # the stroke was saved
