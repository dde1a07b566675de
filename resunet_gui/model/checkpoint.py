"""Checkpoints: tensors in safetensors, metadata as JSON (inside the file and in a sidecar).

Nothing is ever unpickled. A checkpoint that is corrupt, of another architecture, or whose
tensors do not match its metadata raises ``CheckpointError`` with a message for the user.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from resunet_gui import __version__
from resunet_gui.core.errors import CheckpointError
from resunet_gui.core.types import ClassSpec, Normalization
from resunet_gui.model.resunet import ARCHITECTURE, DEFAULT_DECODER_CHANNELS, ResUNet
from resunet_gui.model.state_check import state_mismatch

FORMAT_VERSION = 1
_META_KEY = "resunet_gui"
# Bounds checked before a model is built from metadata: a hostile file must not make the
# app allocate gigabytes before it is rejected. Masks are uint8 with 255 = ignore.
MAX_CLASSES = 255
MAX_IN_CHANNELS = 4
MAX_DECODER_WIDTH = 1024
_MAX_SIDECAR = 1 << 20


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class CheckpointMeta:
    """Everything needed to rebuild and use a model, stored beside its tensors."""

    classes: list[dict[str, Any]]
    normalization: Normalization = field(default_factory=Normalization)
    in_channels: int = 3
    num_classes: int = 0  # 0: taken from ``classes``
    architecture: str = ARCHITECTURE
    decoder_channels: tuple[int, ...] = DEFAULT_DECODER_CHANNELS
    model_version: str = "v001"
    parent_version: str | None = None
    training: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=_now_iso)
    app_version: str = __version__
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        self.classes = [_class_dict(c) for c in self.classes]
        if isinstance(self.normalization, dict):
            self.normalization = Normalization(**self.normalization)
        self.normalization = Normalization(
            tuple(float(v) for v in self.normalization.mean),
            tuple(float(v) for v in self.normalization.std),
        )
        self.decoder_channels = tuple(int(c) for c in self.decoder_channels)
        if not self.num_classes:
            self.num_classes = len(self.classes)
        _check_sizes(self)

    def class_specs(self) -> list[ClassSpec]:
        return [ClassSpec(c["id"], c["name"], tuple(c["color"])) for c in self.classes]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["normalization"] = {"mean": list(self.normalization.mean),
                              "std": list(self.normalization.std)}
        d["decoder_channels"] = list(self.decoder_channels)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckpointMeta:
        known = set(cls.__dataclass_fields__)
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
            raise CheckpointError(f"checkpoint metadata is invalid: {exc}") from exc


def _check_sizes(meta: CheckpointMeta) -> None:
    """ValueError unless every size the model is built from is within its bound."""
    for name in ("num_classes", "in_channels", "format_version"):
        if isinstance(getattr(meta, name), bool) or not isinstance(getattr(meta, name), int):
            raise ValueError(f"{name} must be a whole number, got {getattr(meta, name)!r}")
    if not 1 <= meta.num_classes <= MAX_CLASSES:
        raise ValueError(f"num_classes {meta.num_classes} is outside 1..{MAX_CLASSES}")
    if not 1 <= meta.in_channels <= MAX_IN_CHANNELS:
        raise ValueError(f"in_channels {meta.in_channels} is outside 1..{MAX_IN_CHANNELS}")
    widths = meta.decoder_channels
    if len(widths) != len(DEFAULT_DECODER_CHANNELS) or not all(
            1 <= w <= MAX_DECODER_WIDTH for w in widths):
        raise ValueError(f"decoder_channels {list(widths)} must be {len(DEFAULT_DECODER_CHANNELS)} "
                         f"widths in 1..{MAX_DECODER_WIDTH}")
    if len(meta.classes) > MAX_CLASSES + 1:
        raise ValueError(f"{len(meta.classes)} classes listed; at most {MAX_CLASSES}")
    if not isinstance(meta.training, dict):
        raise ValueError("training must be a JSON object")


def _class_dict(c: ClassSpec | dict[str, Any]) -> dict[str, Any]:
    if isinstance(c, ClassSpec):
        return c.to_dict()
    return {"id": int(c["id"]), "name": str(c["name"]), "color": [int(v) for v in c["color"]]}


def sidecar_path(path: Path) -> Path:
    """``models/v003.safetensors`` -> ``models/v003.json``."""
    return Path(path).with_suffix(".json")


def save_checkpoint(path: str | Path, model: ResUNet, meta: CheckpointMeta) -> Path:
    """Write ``path`` (.safetensors, BN buffers included) and its JSON sidecar atomically."""
    from safetensors.torch import save

    from resunet_gui.core.storage import atomic_write_bytes, atomic_write_json

    path = Path(path)
    if meta.num_classes != model.num_classes or meta.in_channels != model.in_channels:
        raise CheckpointError(
            f"metadata ({meta.num_classes} classes, {meta.in_channels} channels) does not match "
            f"the model ({model.num_classes} classes, {model.in_channels} channels)"
        )
    meta.decoder_channels = tuple(model.decoder_channels)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    data = meta.to_dict()
    blob = save(tensors, metadata={_META_KEY: json.dumps(data)})
    atomic_write_bytes(path, blob)
    atomic_write_json(sidecar_path(path), data)
    return path


def read_meta(path: str | Path) -> CheckpointMeta:
    """Metadata only (cheap): embedded JSON, else the sidecar."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as fh:
            raw = (fh.metadata() or {}).get(_META_KEY)
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise CheckpointError(f"{path.name} is corrupt or not a safetensors checkpoint: {exc}") from exc
    if raw is None:
        side = sidecar_path(path)
        if not side.is_file():
            raise CheckpointError(f"{path.name} has no metadata and no sidecar {side.name}")
        try:
            with open(side, "rb") as fh:
                blob = fh.read(_MAX_SIDECAR + 1)  # metadata is a few kB: never read a huge file
        except OSError as exc:
            raise CheckpointError(f"cannot read {side.name}: {exc.strerror}") from None
        if len(blob) > _MAX_SIDECAR:
            raise CheckpointError(f"{side.name} is too large to be checkpoint metadata")
        raw = blob.decode("utf-8", errors="replace")
    try:
        data = json.loads(raw)
    except ValueError as exc:  # JSON or UTF-8 errors
        raise CheckpointError(f"metadata of {path.name} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"metadata of {path.name} is not a JSON object")
    return CheckpointMeta.from_dict(data)


def load_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[ResUNet, CheckpointMeta]:
    """Rebuild the model described by the metadata and load its tensors (strict)."""
    from safetensors.torch import load_file

    path = Path(path)
    meta = read_meta(path)
    if meta.architecture != ARCHITECTURE:
        raise CheckpointError(
            f"{path.name} is a {meta.architecture!r} model; this app needs {ARCHITECTURE!r}"
        )
    if meta.format_version > FORMAT_VERSION:
        raise CheckpointError(f"{path.name} was written by a newer app (format {meta.format_version})")
    try:
        model = ResUNet(meta.num_classes, meta.in_channels, meta.decoder_channels)
    except (ValueError, RuntimeError) as exc:
        raise CheckpointError(f"cannot build the model described by {path.name}: {exc}") from exc
    try:
        tensors = load_file(str(path), device=str(map_location))
    except Exception as exc:
        raise CheckpointError(f"{path.name} is corrupt: {exc}") from exc
    problem = state_mismatch(model.state_dict(), tensors, check_dtype=True)
    if problem is not None:
        raise CheckpointError(f"{path.name} does not match its architecture: {problem}")
    model.load_state_dict(tensors, strict=True)
    model.to(map_location)
    return model, meta
