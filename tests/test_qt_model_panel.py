"""Model panel through a real ModelService and bridge, with a small fake engine."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from resunet_gui.engine.service import TrainingStatus
from resunet_gui.engine.versions import VersionInfo
from resunet_gui.qt.model_panel import ModelPanel
from resunet_gui.qt.service_bridge import ServiceBridge


class VersionsEngine:
    """Engine protocol plus the model-panel operations, without torch."""

    device = "cpu"

    def __init__(self) -> None:
        self.current = "v002"
        self.versions = [VersionInfo("v001", Path("v001"), 0.70, check_images=3, train_images=5),
                         VersionInfo("v002", Path("v002"), 0.80, check_images=3, train_images=8,
                                     parent="v001")]
        self.mode = "all"
        self.exported: list[tuple[str, str]] = []

    def predict(self, image, should_cancel):  # noqa: ANN001, ANN201
        raise RuntimeError("not used")

    def model_version(self) -> str:
        return self.current

    def notify_done(self, stems) -> None:  # noqa: ANN001
        pass

    def can_train(self) -> bool:
        return False

    def train_chunk(self):  # noqa: ANN201
        raise RuntimeError("not used")

    def status(self) -> TrainingStatus:
        return TrainingStatus("idle")

    def close(self) -> None:
        pass

    def list_versions(self) -> list[VersionInfo]:
        return list(self.versions)

    def rollback(self, name: str) -> VersionInfo:
        self.current = name
        return next(v for v in self.versions if v.name == name)

    def export_version(self, name: str, dest: str) -> str:
        self.exported.append((name, dest))
        return dest

    def set_mode(self, mode: str) -> None:
        self.mode = mode


@pytest.fixture
def panel(qtbot):
    engine = VersionsEngine()
    bridge = ServiceBridge()
    w = ModelPanel()
    qtbot.addWidget(w)
    w.attach(bridge)
    with qtbot.waitSignal(w.versionsLoaded, timeout=10_000):
        bridge.start(lambda: engine)
    yield w, engine, bridge
    bridge.shutdown()


def test_versions_are_listed_with_scores(panel):
    w, _engine, _bridge = panel
    assert w.table.rowCount() == 2
    assert w.table.item(0, 0).text() == "v001" and w.table.item(1, 1).text() == "0.800"
    assert w.table.item(1, 0).text() == "v002 (in use)"  # the engine serves v002


def test_rollback_runs_on_the_worker_and_updates_the_status_line(panel, qtbot):
    w, engine, _bridge = panel
    w.table.selectRow(0)
    with qtbot.waitSignal(w.statusLine, timeout=10_000) as sig:
        w.rollback_btn.click()
    assert engine.current == "v001"
    assert "v001" in sig.args[0] and "0.70" in sig.args[0]


def test_export_and_mode_go_to_the_engine(panel, qtbot, tmp_path):
    w, engine, _bridge = panel
    dest = str(tmp_path / "m.safetensors")
    with qtbot.waitSignal(w.operationDone, timeout=10_000):
        w.export("v002", dest)
    assert engine.exported == [("v002", dest)]
    with qtbot.waitSignal(w.operationDone, timeout=10_000):
        w.set_mode("decoder")
    assert engine.mode == "decoder"


def test_training_status_feeds_the_live_plot_and_says_why(panel):
    w, _engine, _bridge = panel
    for step, loss in ((5, 0.9), (10, 0.7), (15, 0.5)):
        w.on_training_status(TrainingStatus("training", step=step, loss=loss, mode="all",
                                            mode_reason="encoder has no pretrained weights",
                                            message=f"step {step}"))
    assert w.plot is not None
    xs, ys = w._loss_curve.getData()
    assert list(xs) == [5, 10, 15] and list(ys) == [0.9, 0.7, 0.5]
    assert "pretrained" in w.reason.text()
    w.on_model_changed(VersionInfo("v003", Path("v003"), 0.84, check_images=6))
    w.on_model_changed(VersionInfo("v004", Path("v004"), 0.86, check_images=6))
    assert "up from 0.84" in w.status.text()
    assert len(w._dice_curve.getData()[0]) == 2


def test_rollback_clicked_in_the_versions_table_is_a_model_service_request(panel, qtbot,
                                                                          monkeypatch):
    w, engine, bridge = panel
    service = bridge.service
    asked: list[str] = []
    real = service.rollback

    def spy(version, on_done=None):  # noqa: ANN001, ANN202
        asked.append(version)
        return real(version, on_done)

    monkeypatch.setattr(service, "rollback", spy)
    rect = w.table.visualItemRect(w.table.item(0, 0))
    qtbot.mouseClick(w.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(bridge.modelChanged, timeout=10_000) as changed:
        qtbot.mouseClick(w.rollback_btn, Qt.MouseButton.LeftButton)
    assert asked == ["v001"] and engine.current == "v001"
    assert changed.args[0].name == "v001"  # announced by the service, not by the panel
    qtbot.waitUntil(lambda: w.table.item(0, 0).text() == "v001 (in use)", timeout=10_000)

