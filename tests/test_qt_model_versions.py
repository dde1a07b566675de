"""Model versions panel: the version in use is marked, the status line and the table agree
on a score, an imported checkpoint for other classes warns and its score is not compared;
opening another folder forgets the previous project's curve and scores."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from qt_window import grab, key, make_folder
from test_qt_model_panel import VersionsEngine

from resunet_gui.engine.service import TrainingStatus
from resunet_gui.engine.versions import VersionInfo
from resunet_gui.qt.model_panel import ModelPanel
from resunet_gui.qt.service_bridge import ServiceBridge


class ImportingEngine(VersionsEngine):
    def load_external(self, path: str) -> VersionInfo:
        info = VersionInfo("v003", Path(path), 0.91, check_images=4, source="imported")
        self.versions.append(info)
        self.current = "v003"
        return info


@pytest.fixture
def panel(qtbot):
    engine = ImportingEngine()
    bridge = ServiceBridge()
    w = ModelPanel()
    w.resize(700, 400)
    w.show()
    qtbot.addWidget(w)
    qtbot.waitExposed(w)
    w.attach(bridge)
    w.reset(["background", "polyp"])
    with qtbot.waitSignal(w.versionsLoaded, timeout=10_000):
        bridge.start(lambda: engine)
    yield w, engine
    bridge.shutdown()


def _row_colour(w: ModelPanel, row: int) -> np.ndarray:
    rect = w.table.visualItemRect(w.table.item(row, 3))
    return grab(w.table.viewport())[rect.center().y(), rect.right() - 3].astype(int)


def test_the_version_in_use_is_marked_and_follows_a_rollback(panel, qtbot):
    w, engine = panel
    assert w.table.item(1, 0).text() == "v002 (in use)" and w.table.item(0, 0).text() == "v001"
    assert np.abs(_row_colour(w, 1) - _row_colour(w, 0)).sum() > 60  # highlighted row
    rect = w.table.visualItemRect(w.table.item(0, 0))
    qtbot.mouseClick(w.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(w.versionsLoaded, timeout=10_000):
        qtbot.mouseClick(w.rollback_btn, Qt.MouseButton.LeftButton)
    assert engine.current == "v001"
    assert w.table.item(0, 0).text() == "v001 (in use)" and w.table.item(1, 0).text() == "v002"


def test_status_line_and_table_show_the_same_score(panel, qtbot):
    w, engine = panel
    info = VersionInfo("v003", Path("v003"), 0.8456, check_images=6, parent="v002")
    engine.versions.append(info)
    engine.current = "v003"
    with qtbot.waitSignal(w.versionsLoaded, timeout=10_000):
        w.on_model_changed(info)
    cell = w.table.item(2, 1).text()
    assert cell == "0.846" and cell in w.status.text()
    assert "up from 0.800 (v002)" in w.status.text()


def test_checkpoint_for_other_classes_warns_and_its_score_is_not_comparable(
        panel, qtbot, tmp_path, monkeypatch):
    import torch
    from safetensors.torch import save_file

    w, _engine = panel
    path = tmp_path / "membrane.safetensors"
    meta = {"classes": [{"id": 0, "name": "background", "color": [0, 0, 0]},
                        {"id": 1, "name": "membrane", "color": [255, 0, 0]}]}
    save_file({"w": torch.zeros(1)}, str(path), metadata={"resunet_gui": json.dumps(meta)})
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    with qtbot.waitSignal(w.versionsLoaded, timeout=10_000):
        qtbot.mouseClick(w.load_btn, Qt.MouseButton.LeftButton)
    assert w.mismatch_box.isVisible() and "membrane" in w.mismatch_box.text()
    assert w.table.item(2, 0).text() == "v003 (in use)"
    assert w.table.item(2, 1).text() == "0.910 (other data)"
    assert "not comparable" in w.table.item(2, 1).toolTip()
    assert "another project" in w.status.text() and "up from" not in w.status.text()
    w.mismatch_box.close()


def test_opening_another_folder_forgets_the_previous_projects_model_state(
        plain_window, tmp_path, qtbot, monkeypatch):
    engine = VersionsEngine()
    window = plain_window(engine_factory_for=lambda _project: lambda: engine)
    window.open_folder(make_folder(tmp_path / "a", ["a1"]))
    qtbot.waitUntil(lambda: window.device_label.text().startswith("device"), timeout=10_000)
    for step, loss in ((5, 0.9), (10, 0.7)):
        window.bridge.trainingStatus.emit(TrainingStatus("training", step=step, loss=loss))
    window.bridge.modelChanged.emit(VersionInfo("v003", Path("v003"), 0.71, check_images=3))
    assert window.model_panel.plot is not None and "0.71" in window.model_label.text()

    other = make_folder(tmp_path / "b", ["b1", "b2"])
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(other))
    key(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert window.editor.stem == "b1"
    qtbot.waitUntil(lambda: window.device_label.text().startswith("device"), timeout=10_000)
    xs, _ys = window.model_panel._loss_curve.getData()
    assert xs is None or len(xs) == 0, "the old project's loss curve is still drawn"
    assert "0.71" not in window.model_label.text() + window.model_panel.status.text()
    window.bridge.trainingStatus.emit(TrainingStatus("training", step=3, loss=0.5))
    assert window.model_panel.losses == [(3, 0.5)]
    qtbot.waitUntil(lambda: window.model_panel.table.rowCount() == 2, timeout=10_000)
    window.bridge.modelChanged.emit(VersionInfo("v004", Path("v004"), 0.93, check_images=1))
    assert window.model_label.text() == window.model_panel.status.text()
    assert "up from 0.800 (v002)" in window.model_label.text()
