"""A large image's suggestion (issue 17, item 7): tile progress with time left, Cancel of
that one suggestion with the mouse, and finished tiles kept when the user moves to another
image and back (or asks again), so no tile is computed twice."""
from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from resunet_gui.app import build_window
from resunet_gui.engine.inference_engine import InferenceEngine
from resunet_gui.qt.preferences import Preferences

BIG, TILE, TILES, HOLD_AT = 256, 64, 25, 5  # 256 px in 64 px tiles (16 overlap): 5 x 5


class GatedEngine(InferenceEngine):
    """The real inference engine; after ``HOLD_AT`` tiles of the big image it waits for the
    test (or a cancel), like a slow CPU would."""

    def __init__(self) -> None:
        import torch

        torch.set_num_threads(1)
        super().__init__(version="v1", tile=TILE)
        self.gate = threading.Event()
        self.big_tiles = 0
        forward = self.predictor._forward

        def counting(model, batch, device):  # noqa: ANN001, ANN202
            if batch.shape[1] == TILE:
                self.big_tiles += batch.shape[0]
            return forward(model, batch, device)

        self.predictor._forward = counting

    def predict(self, image, should_cancel, *, progress=None, key=None):  # noqa: ANN001, ANN201
        def held(done: int, total: int) -> None:
            progress(done, total)
            end = time.monotonic() + 20
            while (total == TILES and done >= HOLD_AT and not self.gate.is_set()
                   and not should_cancel() and time.monotonic() < end):
                time.sleep(0.005)

        return super().predict(image, should_cancel, progress=held, key=key)


@pytest.fixture
def big_window(qtbot, tmp_path):
    folder = tmp_path / "large"
    (folder / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    cv2.imwrite(str(folder / "images" / "a_big.png"), rng.integers(0, 255, (BIG, BIG), np.uint8))
    cv2.imwrite(str(folder / "images" / "b_small.png"), rng.integers(0, 255, (32, 32), np.uint8))
    engines: list[GatedEngine] = []

    def factory_for(_project):  # noqa: ANN001, ANN202
        def build() -> GatedEngine:
            engines.append(GatedEngine())
            return engines[-1]
        return build

    w = build_window(Preferences(tmp_path / "prefs.ini"), engine_factory_for=factory_for)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    seen: list[tuple[int, int]] = []
    w.bridge.suggestionProgress.connect(lambda _r, key, d, t: seen.append((d, t))
                                        if key == "a_big" else None)
    assert w.open_folder(folder)
    w.engines, w.seen = engines, seen
    yield w
    if engines:
        engines[0].gate.set()
    w.close()


def _held(qtbot, w) -> None:
    panel = w.suggest_panel
    qtbot.waitUntil(lambda: f"{HOLD_AT} / {TILES} tiles" in panel.eta.text(), timeout=60_000)
    assert panel.cancel.isEnabled() and panel.progress.isVisible()
    assert panel.progress.value() == HOLD_AT and panel.progress.maximum() == TILES
    assert "left" in panel.eta.text()


def test_cancel_button_stops_one_suggestion_and_asking_again_resumes(big_window, qtbot):
    w = big_window
    panel = w.suggest_panel
    _held(qtbot, w)
    qtbot.mouseClick(panel.cancel, Qt.MouseButton.LeftButton)
    assert "cancelled" in panel.eta.text().lower() and not panel.cancel.isEnabled()
    engine = w.engines[0]
    qtbot.waitUntil(lambda: "a_big" in engine.tiles, timeout=20_000)
    assert engine.big_tiles == HOLD_AT
    w.seen.clear()
    engine.gate.set()
    qtbot.mouseClick(panel.suggest, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "a_big" in w.editor.suggestions, timeout=60_000)
    assert w.seen[0] == (HOLD_AT, TILES)  # resumed at the first unfinished tile
    assert engine.big_tiles == TILES  # no tile computed twice
    assert not panel.progress.isVisible() and not panel.cancel.isEnabled()


def test_finished_tiles_survive_switching_away_and_back(big_window, qtbot):
    w = big_window
    _held(qtbot, w)
    engine = w.engines[0]
    w.list_view.setFocus()
    qtbot.keyClick(w.list_view, Qt.Key.Key_Down)
    assert w.editor.stem == "b_small"
    qtbot.waitUntil(lambda: "b_small" in w.editor.suggestions, timeout=60_000)
    assert "a_big" in engine.tiles and engine.big_tiles == HOLD_AT
    w.seen.clear()
    engine.gate.set()
    qtbot.keyClick(w.list_view, Qt.Key.Key_Up)
    assert w.editor.stem == "a_big"
    qtbot.waitUntil(lambda: "a_big" in w.editor.suggestions, timeout=60_000)
    assert w.seen[0] == (HOLD_AT, TILES)
    assert engine.big_tiles == TILES
