"""Float TIFFs with NaN/Inf pixels: the window opens them, window/level works, the bad
pixels show black and feed the model as 0, and a suggestion is still requested."""
from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from resunet_gui.core.imageio import read_image

NAN_BLOCK = (slice(8, 24), slice(8, 24))
INF_BLOCK = (slice(40, 56), slice(8, 24))
NEG_INF_BLOCK = (slice(40, 56), slice(40, 56))


def nan_tiff(folder) -> np.ndarray:
    (folder / "images").mkdir(parents=True)
    data = np.linspace(0.0, 1000.0, 64 * 64, dtype=np.float32).reshape(64, 64)
    data[NAN_BLOCK] = np.nan
    data[INF_BLOCK] = np.inf
    data[NEG_INF_BLOCK] = -np.inf
    tifffile.imwrite(folder / "images" / "scan.tif", data)
    return data


def test_nan_and_inf_pixels_become_zero_in_model_input_and_display(tmp_path):
    nan_tiff(tmp_path)
    image = read_image(tmp_path / "images" / "scan.tif")
    x = image.model_input()
    assert np.isfinite(x).all()
    for block in (NAN_BLOCK, INF_BLOCK, NEG_INF_BLOCK):
        assert (x[block] == 0).all()
        assert (image.display[block] == 0).all()
    lo, hi = image.window
    assert np.isfinite(lo) and np.isfinite(hi) and hi > lo


@pytest.fixture
def window(plain_window):
    return plain_window()  # tests/qt_window.py: shown, no model service, closed afterwards


def _screen_rgb(window, x: float, y: float) -> tuple[int, int, int]:
    vp = window.canvas.viewport()
    pos = window.canvas.mapFromScene(QPointF(x + 0.5, y + 0.5))
    c = vp.grab().toImage().pixelColor(pos)
    return c.red(), c.green(), c.blue()


def test_nan_tiff_opens_with_working_window_level_and_black_nan_pixels(window, qtbot, tmp_path,
                                                                      monkeypatch):
    nan_tiff(tmp_path)
    asked: list[str] = []
    monkeypatch.setattr(window.suggestions, "request_current",
                        lambda force=False: asked.append(window.editor.stem))
    assert window.open_folder(tmp_path)
    qtbot.waitUntil(lambda: window.editor.stem == "scan")
    assert asked == ["scan"]  # the suggestion is still requested
    panel = window.view_panel
    assert not panel.level_box.isHidden()
    low, high = panel.level_low.value(), panel.level_high.value()
    assert 0 <= low < high <= 1000
    window.canvas.fit()
    qtbot.wait(50)
    for y, x in ((16, 16), (48, 16), (48, 48)):  # NaN, +Inf, -Inf
        assert _screen_rgb(window, x, y) == (0, 0, 0)
    assert sum(_screen_rgb(window, 60, 30)) > 300  # a bright finite pixel is not black

    # the black-level slider works with the keyboard and re-renders through the window
    panel.level_high.setFocus()
    with qtbot.waitSignal(panel.windowChanged, timeout=2000) as sig:
        for _ in range(50):
            QTest.keyClick(panel.level_high, Qt.Key.Key_Left)
    a, b = sig.args
    assert np.isfinite(a) and np.isfinite(b) and b > a
    qtbot.wait(50)
    assert _screen_rgb(window, 16, 16) == (0, 0, 0)
    assert _screen_rgb(window, 16, 48) == (0, 0, 0)  # +Inf
