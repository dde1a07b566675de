"""The Uncertainty checkbox shows per-pixel uncertainty in cividis on the canvas."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from qt_window import make_folder, rendered_at

from resunet_gui.qt.colormaps import colormap_rgb
from resunet_gui.qt.editor import Suggestion


def _show_with_entropy(window, tmp_path):  # noqa: ANN001, ANN202
    window.open_folder(make_folder(tmp_path / "u", ["a"], size=64))
    entropy = np.zeros((64, 64), np.float32)
    entropy[:, 32:] = 1.0  # right half: the model has no idea
    mask = np.zeros((64, 64), np.uint8)
    assert window.editor.add_suggestion(Suggestion("a", mask, 0.5, entropy, "v001"))
    window.suggestions._show_uncertainty_layer()


def test_uncertainty_checkbox_draws_cividis_over_the_image(plain_window, tmp_path, qtbot):
    window = plain_window()
    _show_with_entropy(window, tmp_path)
    before_unsure = rendered_at(window, 50, 32)
    box = window.view_panel.show_uncertainty
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().center())
    assert box.isChecked()
    certain, unsure = rendered_at(window, 10, 32), rendered_at(window, 50, 32)
    assert np.abs(unsure - before_unsure).sum() > 60, "the overlay draws nothing"
    # high uncertainty is the yellow end of cividis: more red+green than blue
    assert unsure[0] > unsure[2] + 40 and unsure[1] > unsure[2] + 40
    # low uncertainty is the dark blue end: more blue than red
    assert certain[2] > certain[0] + 10
    lut = colormap_rgb("cividis")
    assert tuple(lut[0]) == (0, 32, 77) and tuple(lut[-1])[:2] == (255, 234)
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().center())
    assert np.abs(rendered_at(window, 50, 32) - before_unsure).sum() <= 3
