"""Edit > Preferences: device and encoder weights, kept in QSettings and used for the model."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog
from qt_window import key, make_folder

from resunet_gui.app import default_engine_factory
from resunet_gui.qt.preferences import Preferences


def _ok(qtbot, dialog) -> None:  # noqa: ANN001
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)


def test_preferences_shortcut_opens_the_dialog_and_ok_stores_the_choice(
        plain_window, qtbot, tmp_path):
    window = plain_window()
    key(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    dialog = window.preferences_dialog
    qtbot.waitExposed(dialog)
    assert dialog.device.currentText() == "auto" and dialog.chosen_weights() == "imagenet"
    qtbot.keyClicks(dialog.device, "c")  # first entry starting with c: cpu
    qtbot.keyClicks(dialog.weights, "N")  # None (random start)
    _ok(qtbot, dialog)
    assert not dialog.isVisible()
    stored = Preferences(tmp_path / "prefs.ini")  # a fresh reader of the same store
    assert stored.device == "cpu" and stored.weights == "none"


def test_a_weights_file_needs_a_file_before_ok_closes(plain_window, qtbot, tmp_path,
                                                     monkeypatch):
    window = plain_window()
    weights = tmp_path / "encoder.safetensors"
    weights.write_bytes(b"x")
    window.show_preferences()
    dialog = window.preferences_dialog
    qtbot.keyClicks(dialog.weights, "A")  # A weights file...
    assert dialog.browse.isEnabled()
    _ok(qtbot, dialog)
    assert dialog.isVisible()  # no file chosen yet: nothing stored
    assert Preferences(tmp_path / "prefs.ini").weights == "imagenet"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(weights), ""))
    qtbot.mouseClick(dialog.browse, Qt.MouseButton.LeftButton)
    _ok(qtbot, dialog)
    assert not dialog.isVisible()
    assert Preferences(tmp_path / "prefs.ini").weights == str(weights)


def test_the_engine_for_an_opened_folder_uses_the_preferred_device_and_weights(
        plain_window, qtbot, tmp_path, monkeypatch):
    import resunet_gui.engine.project_engine as project_engine

    built = []

    class RecordingEngine:
        def __init__(self, project, config) -> None:  # noqa: ANN001
            built.append(config)
            raise RuntimeError("recorded; no model needed")

    monkeypatch.setattr(project_engine, "ProjectEngine", RecordingEngine)
    prefs = Preferences(tmp_path / "prefs.ini")
    prefs.device, prefs.weights = "cpu", "none"
    window = plain_window(engine_factory_for=default_engine_factory)
    with qtbot.waitSignal(window.bridge.engineFailed, timeout=10_000):
        window.open_folder(make_folder(tmp_path / "imgs", ["a"]))
    assert [(c.device, c.weights) for c in built] == [("cpu", "none")]


def test_an_unknown_device_in_the_store_reads_as_auto(tmp_path):
    prefs = Preferences(tmp_path / "prefs.ini")
    prefs.store.setValue("model/device", "tpu")
    assert prefs.device == "auto"
