"""An inference-only Engine: suggestions from a fixed model, no training.

For uses that need the service's threading and priorities but not learning: benchmarks,
screenshots, tests, and read-only sessions.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from resunet_gui.core.errors import ResunetError
from resunet_gui.engine.bootstrap import bootstrap_model
from resunet_gui.engine.predictor import Prediction, Predictor
from resunet_gui.engine.requests import TrainingStatus
from resunet_gui.engine.tile_cache import TileCache
from resunet_gui.engine.versions import VersionInfo

FIXED_MODEL = "this session serves one fixed model: it has no saved versions to change"


class InferenceEngine:
    """Serves one model; ``checkpoint=None`` builds a seeded random-init model."""

    def __init__(self, checkpoint: str | Path | None = None, *, version: str | None = None,
                 tile: int = 512, num_classes: int = 2, seed: int = 0,
                 device: str = "auto") -> None:
        setup = bootstrap_model(None if checkpoint is not None else num_classes,
                                checkpoint=checkpoint, weights="none", device=device, seed=seed)
        self.version = version or setup.version or "random init"
        self.device = str(setup.device)
        self.model = setup.model.eval()
        self.predictor = Predictor(self.model, setup.normalization, device=setup.device,
                                   tile=tile, amp=False)
        self.tiles = TileCache()

    def predict(self, image: np.ndarray, should_cancel: Callable[[], bool], *,
                progress: Callable[[int, int], None] | None = None,
                key: str | None = None) -> Prediction:
        return self.predictor.predict(image, should_cancel=should_cancel, progress=progress,
                                      cache=self.tiles, key=key)

    def model_version(self) -> str | None:
        return self.version

    def refine(self, image: np.ndarray, strokes: Any, should_cancel: Callable[[], bool]
               ) -> Prediction:
        from resunet_gui.engine.refine import refine_prediction

        return refine_prediction(self.model, self.predictor.normalization, image,
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

    # -- version control: a fixed model has no saved versions (the model panel lists none) --
    def list_versions(self) -> list[VersionInfo]:
        return []

    def rollback(self, name: str) -> VersionInfo:
        raise ResunetError(FIXED_MODEL)

    def export_version(self, name: str, dest: str | Path) -> Path:
        raise ResunetError(FIXED_MODEL)

    def load_external(self, path: str | Path) -> VersionInfo:
        raise ResunetError(FIXED_MODEL)

    def set_mode(self, mode: str) -> None:
        raise ResunetError(FIXED_MODEL)
