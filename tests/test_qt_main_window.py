"""The real main window, offscreen: open a dataset copy, suggest, paint, undo/redo, accept,
mark done, move on, reopen and find the mask saved; bad images don't stop the rest."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from resunet_gui.app import build_window
from resunet_gui.core.imageio import read_mask
from resunet_gui.core.types import ImageStatus
from resunet_gui.engine.inference_engine import InferenceEngine
from resunet_gui.qt.preferences import Preferences


class RecordingEngine(InferenceEngine):
    """The real inference-only engine (random weights, one thread), recording what it is told."""

    def __init__(self) -> None:
        import torch

        torch.set_num_threads(1)
        super().__init__(version="v000")
        self.done: list[str] = []
        self.predictions = 0

    def predict(self, image, should_cancel):  # noqa: ANN001, ANN201
        self.predictions += 1
        return super().predict(image, should_cancel)

    def notify_done(self, stems: list[str]) -> None:
        self.done.extend(stems)


_ENGINE: list[RecordingEngine] = []


def shared_engine() -> RecordingEngine:
    """Built once per test run (stateless for inference): saves a model build per window."""
    if not _ENGINE:
        _ENGINE.append(RecordingEngine())
    _ENGINE[0].done.clear()
    return _ENGINE[0]


@pytest.fixture
def make_window(qtbot, tmp_path):
    windows = []
    engines: list[RecordingEngine] = []

    def factory_for(_project):  # noqa: ANN001, ANN202
        def build() -> RecordingEngine:
            engines.append(shared_engine())
            return engines[-1]
        return build

    def make(with_model: bool = True):  # noqa: ANN202
        w = build_window(Preferences(tmp_path / "prefs.ini"),
                         engine_factory_for=factory_for if with_model else None)
        w.resize(1000, 700)
        w.show()
        qtbot.waitExposed(w)
        windows.append(w)
        return w

    make.engines = engines
    yield make
    for w in windows:
        w.close()
    alive = [t.name for t in threading.enumerate() if t.name.startswith("resunet-model")]
    assert not alive, f"model service threads left running: {alive}"


def _vp(window, x: float, y: float) -> QPoint:
    return window.canvas.mapFromScene(QPointF(x, y))


def stroke(window, points) -> None:
    vp = window.canvas.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     _vp(window, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, _vp(window, *p))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       _vp(window, *points[-1]))


def key(window, k, mod=Qt.KeyboardModifier.NoModifier) -> None:
    window.activateWindow()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, k, mod)


def add_corrupt_image(folder: Path, name: str = "slice_05b.png") -> str:
    (folder / "images" / name).write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    return Path(name).stem


def test_suggest_paint_undo_redo_accept_next_and_reopen_finds_mask(make_window, dataset_copy, qtbot):
    folder = dataset_copy("isbi2012-em")
    (folder / "masks").rename(folder / "truth")  # start unlabelled, like a new user
    bad = add_corrupt_image(folder)
    window = make_window()
    with qtbot.waitSignal(window.suggestions.suggestionArrived, timeout=120_000) as sig:
        assert window.open_folder(folder)
    first = window.editor.stem
    assert sig.args == [first]
    doc = window.editor.document
    assert doc.suggestion is not None and doc.suggestion.shape == doc.labels.shape
    assert window.canvas.suggestion_layer.array is not None
    window.view_panel.show_uncertainty.setChecked(True)  # per-pixel entropy overlay
    assert window.canvas.uncertainty_layer.isVisible()
    assert window.canvas.uncertainty_layer.array.shape == doc.labels.shape
    window.view_panel.show_uncertainty.setChecked(False)
    assert window.images.data(window.images.index(0), 0).startswith(f"{first}  u=")

    window.tools.set_radius(6)
    key(window, Qt.Key.Key_2)  # class "membrane"
    assert window.tools.value == 1
    before = doc.labels.copy()
    stroke(window, [(100, 100), (150, 120), (200, 140)])
    painted = doc.labels.copy()
    assert painted[120, 150] == 1 and (painted != before).sum() > 100
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.labels, before)
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(doc.labels, painted)

    key(window, Qt.Key.Key_Return)  # accept the suggestion
    assert np.array_equal(doc.labels, doc.suggestion)
    stroke(window, [(300, 300), (340, 300)])  # a correction on top of it
    expected = doc.labels.copy()
    assert expected[300, 320] == 1

    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # done and next
    assert window.editor.stem != first
    assert window.images.status(first) == ImageStatus.DONE
    qtbot.waitUntil(lambda: first in make_window.engines[0].done, timeout=60_000)
    second = window.editor.stem
    stroke(window, [(50, 400), (90, 400)])  # unsaved work on the second image...
    second_labels = window.editor.document.labels.copy()

    window.close()  # ...is saved by closing
    window2 = make_window(with_model=False)
    assert window2.open_folder(folder)
    assert np.array_equal(read_mask(folder / "masks" / f"{first}.png"), expected)
    assert np.array_equal(read_mask(folder / "masks" / f"{second}.png"), second_labels)
    assert window2.images.status(first) == ImageStatus.DONE
    window2.show_stem(first)
    assert np.array_equal(window2.editor.document.labels, expected)

    # the corrupt file: a message in the canvas and the list, and the next image still opens
    window2.select_stem(bad)
    assert window2.editor.image is None
    assert bad in window2.canvas.message_text
    assert window2.images.error(bad)
    window2.step(1)
    assert window2.editor.image is not None and window2.editor.stem != bad


def test_stale_suggestion_for_a_previous_image_is_not_drawn(make_window, dataset_copy, qtbot):
    folder = dataset_copy("isbi2012-em")
    window = make_window()
    window.suggestions.auto_suggest = False
    window.open_folder(folder)
    qtbot.waitUntil(lambda: window.device_label.text().startswith("device"), timeout=60_000)
    first = window.editor.stem
    window.suggestions.request_current(force=True)
    window.step(1)  # move on before the answer comes back
    second = window.editor.stem
    assert second != first
    with qtbot.waitSignal(window.suggestions.resultDropped, timeout=60_000,
                          check_params_cb=lambda stem: stem == first):
        pass
    assert window.editor.document.suggestion is None


def test_suggest_all_reports_progress_and_marks_images_suggested(make_window, tmp_path, qtbot):
    import cv2

    folder = tmp_path / "tiny"
    (folder / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(folder / "images" / f"im{i}.png"), rng.integers(0, 255, (64, 64), np.uint8))
    window = make_window()
    window.suggestions.auto_suggest = False
    window.open_folder(folder)
    qtbot.waitUntil(lambda: window.device_label.text().startswith("device"), timeout=60_000)
    window.suggest_panel.suggest_all.click()
    assert window.suggest_panel.cancel.isEnabled()
    qtbot.waitUntil(lambda: not window.suggest_panel.cancel.isEnabled(), timeout=60_000)
    assert "3 / 3" in window.suggest_panel.eta.text()
    assert all(window.images.status(f"im{i}") != ImageStatus.NEW for i in range(3))


def test_class_edits_are_saved_to_the_project(make_window, tmp_path):
    import cv2

    from resunet_gui.core.project import Project

    folder = tmp_path / "plain"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((32, 32), np.uint8))
    window = make_window(with_model=False)
    window.open_folder(folder)
    window.palette_widget.add_class("cells")
    window.palette_widget.rename_current("nuclei")
    window.palette_widget.recolour_current((1, 2, 3))
    window.close()
    with Project.open(folder) as project:
        names = [c.name for c in project.classes]
        assert "nuclei" in names
        assert next(c for c in project.classes if c.name == "nuclei").color == (1, 2, 3)


def test_recent_folders_are_remembered(make_window, tmp_path):
    import cv2

    folder = tmp_path / "r"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((16, 16), np.uint8))
    window = make_window(with_model=False)
    window.open_folder(folder)
    assert Preferences(tmp_path / "prefs.ini").recent_folders[0] == str(folder.resolve())


def test_unopenable_folder_gives_a_message_not_a_traceback(make_window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    window = make_window(with_model=False)
    assert not window.open_folder(tmp_path / "does-not-exist")
    assert shown and "does-not-exist" in shown[0]


def test_journalled_edits_from_a_crash_are_offered_and_recovered(make_window, tmp_path):
    import subprocess
    import sys

    import cv2

    folder = tmp_path / "crash"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((40, 40), np.uint8))
    crash = (  # edit, journal, then die before the autosave: what a power cut leaves
        "import os, sys\n"
        "from resunet_gui.core.project import Project\n"
        "from resunet_gui.annotation.session import EditSession\n"
        "p = Project.open(sys.argv[1])\n"
        "s = EditSession(p, 'a', autosave_delay_s=3600)\n"
        "s.document.paint((10, 10), (30, 10), 3, 1)\n"
        "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", crash, str(folder)], check=True, timeout=60)
    assert not (folder / "masks" / "a.png").exists()
    window = make_window(with_model=False)
    asked = []
    window.ask_recover = lambda stems: asked.append(stems) or True
    assert window.open_folder(folder)
    assert asked == [["a"]]
    mask = read_mask(folder / "masks" / "a.png")
    assert mask[10, 20] == 1 and mask[35, 35] == 0
