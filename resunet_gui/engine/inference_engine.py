"""An inference-only Engine: suggestions from a fixed model, no training.

For uses that need the service's threading and priorities but not learning: benchmarks,
screenshots, tests, and read-only sessions.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from resunet_gui.core.types import Normalization
from resunet_gui.engine.predictor import Prediction, Predictor
from resunet_gui.engine.requests import TrainingStatus
from resunet_gui.model.checkpoint import load_checkpoint
from resunet_gui.model.resunet import ResUNet


class InferenceEngine:
    """Serves one model on the CPU; ``checkpoint=None`` builds a seeded random-init model."""

    device = "cpu"

    def __init__(self, checkpoint: str | Path | None = None, *, version: str | None = None,
                 tile: int = 512, num_classes: int = 2, seed: int = 0) -> None:
        if checkpoint is not None:
            model, meta = load_checkpoint(checkpoint)
            norm, default_version = meta.normalization, meta.model_version
        else:
            torch.manual_seed(seed)
            model, norm, default_version = ResUNet(num_classes), Normalization(), "random init"
        self.version = version or default_version
        self.predictor = Predictor(model.eval(), norm, device="cpu", tile=tile, amp=False)

    def predict(self, image: np.ndarray, should_cancel: Callable[[], bool]) -> Prediction:
        return self.predictor.predict(image, should_cancel=should_cancel)

    def model_version(self) -> str | None:
        return self.version

    def refine(self, image: np.ndarray, strokes: Any, should_cancel: Callable[[], bool]
               ) -> Prediction:
        from resunet_gui.engine.refine import refine_prediction

        return refine_prediction(self.predictor.model, self.predictor.normalization, image,
                                 strokes, "cpu", should_cancel)

    def notify_done(self, stems: list[str]) -> None:
        pass

    def can_train(self) -> bool:
        return False

    def train_chunk(self) -> tuple[TrainingStatus, Any | None]:
        raise RuntimeError("this engine serves suggestions only")

    def status(self) -> TrainingStatus:
        return TrainingStatus("idle")

    def close(self) -> None:
        pass
