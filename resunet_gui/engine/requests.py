"""Plain data the model service exchanges with its callers (and the Engine it drives).

Kept apart from the worker so the Qt bridge and tests can import the types without
pulling in threads or torch.
"""
from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from resunet_gui.core.errors import ResunetError

if TYPE_CHECKING:  # versions needs torch; this module stays light
    from resunet_gui.engine.versions import VersionInfo


class Priority(IntEnum):
    CURRENT = 0
    CONTROL = 1
    PREFETCH = 2
    BATCH = 3


ImageSource = np.ndarray | Callable[[], np.ndarray]


@dataclass
class SuggestionResult:
    request_id: int
    image_key: str
    generation: int
    prediction: Any  # engine.predictor.Prediction (probs, mask, uncertainty, entropy)
    model_version: str | None
    priority: Priority
    batch_id: int | None = None

    @property
    def mask(self) -> np.ndarray:
        return self.prediction.mask

    @property
    def uncertainty(self) -> float:
        return float(self.prediction.uncertainty)


@dataclass
class TrainingStatus:
    state: str  # "waiting" (too few done images), "training", "paused", "idle", "error"
    step: int = 0
    loss: float | None = None
    epoch: float = 0.0
    batch_size: int = 0
    mode: str = ""
    mode_reason: str = ""
    message: str = ""  # plain-language line for the status bar
    done_images: int = 0
    check_dice: float | None = None  # last candidate's check-set score (live plot)
    version: str | None = None  # version serving suggestions


@dataclass
class VersionListing:
    """The saved versions and the one serving suggestions, read together on the worker."""

    versions: list[VersionInfo]
    current: str | None


@dataclass
class ImportedVersion:
    """An external checkpoint imported as a version, with the classes it was trained for."""

    info: VersionInfo
    class_names: list[str]


class Engine(Protocol):
    """What the worker drives; built on the worker thread by the service's factory."""

    def predict(self, image: np.ndarray, should_cancel: Callable[[], bool]) -> Any:
        """May also accept ``progress=(done, total)`` (tiles) and ``key=`` (the image, to
        resume a cancelled prediction); the service passes them when it does."""
        ...

    def model_version(self) -> str | None: ...

    def refine(self, image: np.ndarray, strokes: Any, should_cancel: Callable[[], bool]
               ) -> Any:
        """A prediction of ``image`` re-fitted to the user's strokes (painted pixels kept)."""
        ...

    def notify_done(self, stems: list[str]) -> None: ...

    def can_train(self) -> bool: ...

    def train_chunk(self) -> tuple[TrainingStatus, Any | None]:
        """One chunk; returns the status and version info when the served model changed."""
        ...

    def status(self) -> TrainingStatus: ...

    def close(self) -> None: ...

    def list_versions(self) -> list[VersionInfo]: ...

    def rollback(self, name: str) -> VersionInfo: ...

    def export_version(self, name: str, dest: str | Path) -> Path: ...

    def load_external(self, path: str | Path) -> VersionInfo: ...

    def set_mode(self, mode: str) -> None: ...


def user_message(exc: BaseException) -> str:
    """Text for the status bar: our own errors as written, anything else as one line."""
    if isinstance(exc, ResunetError):
        return str(exc)
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return f"model error: {last}"
