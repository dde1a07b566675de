"""First run without a trained model: a clear "learns from your first images" state instead
of an untrained model's noise; class colours stay visible on the image (outline mode, and a
display colour away from the image's hue)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import Qt
from qt_window import drag, key, make_folder, rendered_at
from test_qt_model_panel import VersionsEngine

from resunet_gui.engine.predictor import Prediction
from resunet_gui.engine.versions import VersionInfo

POLYP = [{"id": 0, "name": "background", "color": [0, 0, 0]},
         {"id": 1, "name": "polyp", "color": [255, 64, 64]}]


class UntrainedEngine(VersionsEngine):
    """No saved version yet; predicts "everything is foreground" like a random model."""

    def __init__(self) -> None:
        super().__init__()
        self.current = None
        self.versions = []
        self.predictions = 0

    def model_version(self):  # noqa: ANN201
        return self.current

    def predict(self, image, should_cancel):  # noqa: ANN001, ANN201
        self.predictions += 1
        h, w = image.shape[:2]
        return Prediction(np.full((2, h, w), 0.5, np.float32), np.ones((h, w), np.uint8), 1.0)


def _banner_shown_above_the_canvas(window) -> bool:  # noqa: ANN001
    """The banner is visible and lies wholly above the canvas: no part of the image is hidden."""
    banner, canvas = window.first_run.banner, window.canvas
    if not banner.isVisible():
        return False
    bottom = banner.mapTo(window, banner.rect().bottomLeft()).y()
    return bottom < canvas.mapTo(window, canvas.rect().topLeft()).y()


def test_untrained_model_shows_how_it_learns_instead_of_noise(plain_window, tmp_path, qtbot):
    engine = UntrainedEngine()
    window = plain_window(engine_factory_for=lambda _project: lambda: engine)
    window.open_folder(make_folder(tmp_path / "f", ["a", "b", "c"], size=64))
    qtbot.waitUntil(lambda: window.device_label.text().startswith("device"), timeout=10_000)
    qtbot.wait(300)
    assert engine.predictions == 0 and window.editor.document.suggestion is None
    assert _banner_shown_above_the_canvas(window), "no first-run banner above the canvas"
    assert "first 5 images" in window.first_run.banner.text()
    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "1 of 5 done" in window.first_run.banner.text()

    window.first_run.set_done(612)  # e.g. a folder of imported labels
    text = window.first_run.banner.text()
    assert "612 images are labelled" in text and "of 5 done" not in text

    engine.current = "v001"  # the first trained version arrives
    window.bridge.modelChanged.emit(VersionInfo("v001", Path("v001"), 0.6, check_images=1))
    qtbot.waitUntil(lambda: engine.predictions >= 1, timeout=10_000)
    assert not window.first_run.banner.isVisible() and not window.first_run.active


def test_class_coloured_like_the_image_is_shown_in_a_visible_colour(plain_window, tmp_path):
    window = plain_window()
    window.open_folder(make_folder(tmp_path / "red", ["a"], size=64, color=(200, 60, 50),
                                   classes=POLYP))
    window.tools.set_radius(6)
    drag(window, [(10, 30), (50, 30)])  # polyp
    painted = rendered_at(window, 30, 30).astype(np.uint8)
    tissue = rendered_at(window, 30, 5).astype(np.uint8)
    hue = cv2.cvtColor(np.stack([painted, tissue])[None], cv2.COLOR_RGB2HSV_FULL)[0, :, 0]
    d = abs(int(hue[0]) - int(hue[1])) * 360 / 256
    assert min(d, 360 - d) > 60, f"polyp drawn in the tissue's hue: {painted} on {tissue}"
    assert "polyp" in window.statusBar().currentMessage()


def test_outline_mode_draws_contours_and_keeps_the_inside_visible(plain_window, tmp_path,
                                                                  qtbot):
    window = plain_window()
    window.open_folder(make_folder(tmp_path / "o", ["a"], size=128, classes=POLYP))
    window.tools.set_radius(16)
    drag(window, [(30, 64), (100, 64)])
    image = np.array([90, 90, 90])
    filled = rendered_at(window, 64, 64)
    assert np.abs(filled - image).sum() > 60  # solid fill by default
    box = window.view_panel.outline
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().center())
    assert np.abs(rendered_at(window, 64, 64) - image).sum() < 40  # inside: the image shows
    edge = rendered_at(window, 64, 64 - 15)  # 1 px inside the stroke's top edge
    assert np.abs(edge - image).sum() > 120  # the contour is drawn at full strength
    drag(window, [(64, 110), (65, 110)])  # a new stroke gets its contour straight away
    assert np.abs(rendered_at(window, 64, 110) - image).sum() < 60
    assert np.abs(rendered_at(window, 64, 110 + 15) - image).sum() > 120
