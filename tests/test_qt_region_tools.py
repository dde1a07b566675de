"""GUI: the newest model is what the user sees; click to fix and refine from real input."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from synthetic import make_blob_project

from resunet_gui.app import build_window
from resunet_gui.engine.predictor import Prediction, to_model_input
from resunet_gui.engine.requests import TrainingStatus
from resunet_gui.engine.versions import VersionInfo
from resunet_gui.qt.preferences import Preferences


def _prediction(fg: np.ndarray) -> Prediction:
    probs = np.stack([1 - fg, fg]).astype(np.float32)
    return Prediction(probs, probs.argmax(0).astype(np.uint8), 0.1)


class VersionEngine:
    """v1 sees the bright discs plus a false square; v2 calls everything foreground.
    ``load_external`` (the user's "load checkpoint") installs v2."""

    device = "cpu"

    def __init__(self) -> None:
        self.version = "v1"
        self.gate = threading.Event()
        self.gate.set()

    def predict(self, image, should_cancel):  # noqa: ANN001, ANN201
        self.gate.wait(30)
        image = to_model_input(np.asarray(image), 3)  # what the app hands: any dtype, HxW(xC)
        if self.version == "v2":
            return _prediction(np.full(image.shape[:2], 0.9, np.float32))
        if self.version == "v3":
            return _prediction(np.full(image.shape[:2], 0.1, np.float32))
        fg = np.where(image[..., 0] > 0.55, 0.9, 0.05).astype(np.float32)
        fg[2:10, 2:10] = 0.8  # a false positive
        return _prediction(fg)

    def refine(self, image, strokes, should_cancel):  # noqa: ANN001, ANN201
        return _prediction(np.full(image.shape[:2], 0.9, np.float32))

    def load_external(self, path):  # noqa: ANN001, ANN201
        self.version = f"v{int(self.version[1:]) + 1}"
        return VersionInfo(name=self.version, path=Path(path), source="imported")

    def model_version(self):  # noqa: ANN201
        return self.version

    def notify_done(self, stems) -> None:  # noqa: ANN001
        pass

    def can_train(self) -> bool:
        return False

    def status(self) -> TrainingStatus:
        return TrainingStatus("idle")

    def close(self) -> None:
        pass


@pytest.fixture
def window_with(qtbot, tmp_path):
    folder = make_blob_project(tmp_path / "data", n=3)
    shutil.rmtree(folder / "masks")  # unlabelled: every image gets suggestions
    engine = VersionEngine()
    w = build_window(Preferences(tmp_path / "prefs.ini"),
                     engine_factory_for=lambda _project: lambda: engine)
    w.resize(900, 700)
    w.show()
    qtbot.waitExposed(w)
    yield w, folder, engine
    w.close()


def _click(window, x: float, y: float) -> None:
    vp = window.canvas.viewport()
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     window.canvas.mapFromScene(QPointF(x + 0.5, y + 0.5)))


def _key(window, k, mod=Qt.KeyboardModifier.NoModifier) -> None:
    window.activateWindow()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, k, mod)


def test_a_new_version_while_the_next_image_is_prefetched_is_what_opening_it_shows(
        window_with, qtbot):
    window, folder, engine = window_with
    with qtbot.waitSignal(window.suggestions.suggestionArrived, timeout=60_000):
        window.open_folder(folder)
    ed = window.editor
    first = ed.stem
    second = window.images.stems[1]
    qtbot.waitUntil(lambda: second in ed.suggestions, timeout=30_000)
    assert ed.suggestions[second].model_version == "v1"  # prefetched from the old model
    assert "v1" in window.newest_model.label.text()
    window.tools.set_radius(2)
    vp = window.canvas.viewport()  # the user corrects the first image
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     window.canvas.mapFromScene(QPointF(30, 30)))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       window.canvas.mapFromScene(QPointF(30, 30)))
    with qtbot.waitSignal(window.bridge.modelChanged, timeout=30_000):
        window.bridge.service.load_checkpoint("elsewhere.safetensors")
    refresh = window.actions_by_name["refresh_suggestion"]
    assert refresh.isVisible() and "v2" in refresh.text()  # edited: offered, not forced
    assert ed.stem == first and ed.document.suggestion.min() == 0  # still v1 on screen
    window.step(1)
    assert ed.stem == second
    qtbot.waitUntil(lambda: ed.document.suggestion is not None, timeout=30_000)
    assert ed.document.suggestion.min() == 1  # v2's answer, not the prefetched v1 one
    assert ed.suggestions[second].model_version == "v2"
    assert "v2" in window.newest_model.label.text()
    assert not refresh.isVisible()  # the offer was about the first image
    # on an image the user has not touched, a newer version replaces the suggestion itself
    with qtbot.waitSignal(window.bridge.modelChanged, timeout=30_000):
        window.bridge.service.load_checkpoint("v3.safetensors")
    qtbot.waitUntil(lambda: ed.document.suggestion.max() == 0, timeout=30_000)
    assert "v3" in window.newest_model.label.text() and not refresh.isVisible()


def test_click_to_fix_removes_a_false_blob_and_undoes_in_one_step(window_with, qtbot):
    window, folder, _engine = window_with
    with qtbot.waitSignal(window.suggestions.suggestionArrived, timeout=60_000):
        window.open_folder(folder)
    doc = window.editor.document
    _key(window, Qt.Key.Key_Return)  # accept the suggestion
    assert doc.labels[2:10, 2:10].all()
    before = doc.labels.copy()
    _key(window, Qt.Key.Key_C)
    assert window.tools.tool.value == "fix"
    _click(window, 5, 5)
    assert doc.labels[2:10, 2:10].sum() == 0
    np.testing.assert_array_equal(doc.labels[12:], before[12:])  # nothing else changed
    _key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(doc.labels, before)


def test_click_to_fix_on_a_suggestion_not_yet_accepted_removes_the_blob_the_user_sees(
        window_with, qtbot):
    window, folder, _engine = window_with
    with qtbot.waitSignal(window.suggestions.suggestionArrived, timeout=60_000):
        window.open_folder(folder)
    doc = window.editor.document
    assert not doc.labels.any()  # only the suggestion is on screen
    suggestion = doc.suggestion.copy()
    _key(window, Qt.Key.Key_C)
    _click(window, 5, 5)  # on the false square
    assert doc.labels[2:10, 2:10].sum() == 0
    np.testing.assert_array_equal(doc.labels[12:], suggestion[12:])  # the rest accepted
    _key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not doc.labels.any()


def test_refine_keeps_painted_pixels_and_undoes_in_one_step(window_with, qtbot):
    window, folder, _engine = window_with
    with qtbot.waitSignal(window.suggestions.suggestionArrived, timeout=60_000):
        window.open_folder(folder)
    doc = window.editor.document
    _key(window, Qt.Key.Key_Return)
    _key(window, Qt.Key.Key_E)  # eraser over the false square: painted background
    window.tools.set_radius(2)
    _click(window, 5, 5)
    painted = doc.provenance >= 2
    assert painted.any()
    before = doc.labels.copy()
    _key(window, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: (doc.labels[~painted] == 1).all(), timeout=30_000)
    assert (doc.labels[painted] == 0).all()  # the user's strokes win
    _key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(doc.labels, before)
