"""Layout: the loss plot does not widen the right panel, and the image stays fitted (fully
visible) when the window or the panels change size, until the user zooms."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from qt_window import canvas_point, grab, key, make_folder

from resunet_gui.engine.service import TrainingStatus

SIZE = 600


def _corners_visible(window) -> bool:  # noqa: ANN001
    """Both far corners of the (bright) image are drawn inside the canvas."""
    shot = grab(window.canvas.viewport())
    h, w = shot.shape[:2]
    for x, y in ((1, 1), (SIZE - 2, SIZE - 2)):
        p = canvas_point(window, x, y)
        if not (0 <= p.x() < w and 0 <= p.y() < h) or shot[p.y(), p.x()].mean() < 150:
            return False
    return True


def test_loss_plot_keeps_the_panel_width_and_the_image_fitted(plain_window, tmp_path, qtbot):
    window = plain_window()
    window.resize(1400, 900)
    window.open_folder(make_folder(tmp_path / "l", ["a"], size=SIZE, color=(220, 220, 220)))
    window.model_dock.raise_()
    qtbot.wait(50)
    dock_w, canvas_w = window.model_dock.width(), window.canvas.width()
    assert _corners_visible(window)
    for step in range(1, 6):
        window.model_panel.on_training_status(TrainingStatus("training", step=step, loss=1 / step))
    qtbot.wait(50)
    assert window.model_panel.plot is not None
    assert abs(window.model_dock.width() - dock_w) <= 2, "the plot widened the panel"
    assert abs(window.canvas.width() - canvas_w) <= 2
    assert _corners_visible(window)


def test_image_stays_fitted_on_resize_until_the_user_zooms(plain_window, tmp_path, qtbot):
    window = plain_window()
    window.resize(1400, 900)
    window.open_folder(make_folder(tmp_path / "r", ["a"], size=SIZE, color=(220, 220, 220)))
    qtbot.wait(50)
    window.resize(900, 600)
    qtbot.wait(50)
    assert _corners_visible(window), "the image is cut off after the window shrank"
    key(window, Qt.Key.Key_Plus)  # the user zooms in: now the view keeps the user's zoom
    zoom = window.canvas.scale_factor
    window.resize(1000, 700)
    qtbot.wait(50)
    assert np.isclose(window.canvas.scale_factor, zoom)
