"""What the service bridge hands the GUI thread, through a real ModelService."""
from __future__ import annotations

import threading

import numpy as np

from resunet_gui.engine.predictor import Prediction
from resunet_gui.qt.service_bridge import ServiceBridge
from tests.test_qt_model_panel import VersionsEngine


class PredictingEngine(VersionsEngine):
    """Returns float32 probabilities and records which thread predicted."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []

    def predict(self, image, should_cancel):  # noqa: ANN001, ANN201
        self.threads.append(threading.get_ident())
        h, w = image.shape[:2]
        probs = np.full((2, h, w), 0.5, np.float32)
        probs[1, : h // 2] = 0.9
        probs[0, : h // 2] = 0.1
        return Prediction(probs=probs, mask=probs.argmax(0).astype(np.uint8), uncertainty=0.3)


def test_results_reach_the_gui_thread_with_float16_probabilities(qtbot):
    engine = PredictingEngine()
    bridge = ServiceBridge()
    with qtbot.waitSignal(bridge.engineReady, timeout=10_000):
        bridge.start(lambda: engine)
    try:
        with qtbot.waitSignal(bridge.resultReady, timeout=10_000) as sig:
            bridge.request_suggestion("a", np.zeros((8, 6, 3), np.uint8), 0)
        pred = sig.args[0].prediction
        assert pred.probs.dtype == np.float16
        assert pred.probs.shape == (2, 8, 6)
        assert float(pred.probs[1, 0, 0]) == np.float16(0.9)
        assert pred.mask.tolist() == (np.arange(8)[:, None] < 4).repeat(6, 1).astype(int).tolist()
        assert engine.threads and engine.threads[0] != threading.get_ident()
    finally:
        bridge.shutdown()
