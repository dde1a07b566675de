"""One way to set up a model: (checkpoint | encoder weights | none, device, mode) -> ``ModelSetup``.

``train``, ``predict``, ``eval``, the inference engine and the project engine all start here,
so a device choice, a weights choice and a training mode mean the same everywhere. The
weights choice is called ``weights`` throughout: ``"imagenet"`` (torchvision's file, from the
local cache only), ``"none"`` (random init) or the path of a ``.pth``/``.safetensors`` file.
Nothing here downloads: a missing file is one logged warning and a random init; only
``resunet-gui doctor --download-weights`` fetches the ImageNet file (``download_imagenet_weights``).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from resunet_gui.core.errors import CheckpointError
from resunet_gui.core.storage import file_sha256
from resunet_gui.core.types import ClassSpec, Normalization
from resunet_gui.engine.device import resolve_device
from resunet_gui.engine.trainer import apply_mode, default_mode
from resunet_gui.engine.versions import VersionStore
from resunet_gui.model.checkpoint import CheckpointMeta, load_checkpoint, save_checkpoint
from resunet_gui.model.resunet import ResUNet
from resunet_gui.model.weights import (
    IMAGENET_FILE,
    KNOWN_SHA256,
    download_imagenet,
    imagenet_cache_path,
    load_encoder_weights,
)

log = logging.getLogger(__name__)

Loaded = tuple[ResUNet, CheckpointMeta]


@dataclass
class ModelSetup:
    """A model ready to serve or train, and where it came from."""

    model: ResUNet
    normalization: Normalization
    device: torch.device
    mode: str  # training mode: which encoder stages train ("decoder", "decoder+late", "all")
    mode_reason: str
    pretrained: bool  # the encoder started from pretrained weights
    init: str  # one line for the user: checkpoint name or weights report
    meta: CheckpointMeta | None = None  # the checkpoint's metadata when started from one

    @property
    def version(self) -> str | None:
        return self.meta.model_version if self.meta is not None else None

    @property
    def frozen_stages(self) -> tuple[str, ...]:
        return self.model.frozen_stages


def bootstrap_model(num_classes: int | None = None, *, checkpoint: str | Path | None = None,
                    loaded: Loaded | None = None, weights: str = "imagenet",
                    device: str | torch.device = "auto", mode: str | None = None,
                    in_channels: int = 3, seed: int | None = None) -> ModelSetup:
    """Build the model from ``loaded`` (a saved version already read, served as it is), else
    ``checkpoint``, else a new ``num_classes`` network whose encoder starts from ``weights``.

    ``mode`` None picks the default for the encoder (decoder only when it is pretrained).
    A ``checkpoint`` whose class count differs from ``num_classes`` raises ``CheckpointError``.
    """
    resolved = resolve_device(device)
    if loaded is None and checkpoint is not None:
        loaded = load_checkpoint(checkpoint)
        if num_classes is not None and loaded[1].num_classes != num_classes:
            raise CheckpointError(f"{Path(checkpoint).name} predicts {loaded[1].num_classes} "
                                  f"classes; this folder has {num_classes}")
    if loaded is not None:
        model, meta = loaded
        pretrained = bool((meta.training or {}).get("pretrained_encoder", False))
        init = (f"checkpoint {Path(checkpoint).name}" if checkpoint is not None
                else f"saved model {meta.model_version}")
        norm: Normalization = meta.normalization
    else:
        if num_classes is None:
            raise ValueError("num_classes is needed to build a model without a checkpoint")
        if seed is not None:
            torch.manual_seed(seed)
        model, meta, norm = ResUNet(num_classes, in_channels=in_channels), None, Normalization()
        report = load_encoder_weights(model, weights)
        pretrained, init = report.loaded, report.message
    chosen, reason = default_mode(pretrained)
    if mode is not None:
        chosen, reason = mode, f"training mode {mode!r} chosen by the user"
    apply_mode(model, chosen)
    return ModelSetup(model, norm, resolved, chosen, reason, pretrained, init, meta)


def num_classes_of(project: Any) -> int:
    """Classes a project's model predicts: one output per class index up to the highest."""
    return max(c.id for c in project.classes) + 1


def current_version(models_dir: str | Path) -> Loaded | None:
    """The project's current model version, or the newest intact one when it is damaged
    (None when there is none); the same fallback as the project engine's."""
    choice = VersionStore(models_dir).load_serving()
    for warning in choice.warnings:
        log.warning("%s", warning)
    if choice.model is None or choice.meta is None:
        return None
    return choice.model, choice.meta


def class_dicts(classes: Sequence[ClassSpec], num_classes: int) -> list[dict[str, Any]]:
    """One entry per class index; indices without a declared class get a placeholder."""
    out: list[dict[str, Any]] = [{"id": i, "name": str(i), "color": [0, 0, 0]}
                                 for i in range(num_classes)]
    for c in classes:
        if 0 <= c.id < num_classes:
            out[c.id] = c.to_dict()
    return out


def checkpoint_meta(setup: ModelSetup, classes: Sequence[ClassSpec], num_classes: int,
                    training: dict[str, Any], parent: str | None = None) -> CheckpointMeta:
    """Metadata for saving ``setup.model`` after training on a project with ``classes``."""
    return CheckpointMeta(classes=class_dicts(classes, num_classes),
                          normalization=setup.normalization,
                          in_channels=setup.model.in_channels, num_classes=num_classes,
                          parent_version=parent, training=training)


def save_model(model: ResUNet, meta: CheckpointMeta, *, out: Path | None,
               models_dir: Path) -> Path:
    """Write to ``out``, or as the next version in ``models_dir`` made current."""
    if out is not None:
        meta.model_version = "v001"
        return save_checkpoint(out, model, meta)
    store = VersionStore(models_dir)
    info = store.save(model, meta)
    store.set_current(info.name)
    return info.path


def weights_cache_line() -> str:
    """Where the ImageNet file is cached and whether its checksum holds (for ``doctor``)."""
    path = imagenet_cache_path()
    if not path.is_file():
        return (f"not cached at {path} (models start from random init; fetch with "
                "`resunet-gui doctor --download-weights` or copy the file there)")
    ok = file_sha256(path) == KNOWN_SHA256[IMAGENET_FILE]
    return f"{path} ({'sha256 ok' if ok else 'sha256 MISMATCH: delete it to download again'})"


def download_imagenet_weights() -> tuple[Path, bool]:
    """Fetch the ImageNet file into the cache once (the only download anywhere);
    returns its path and whether it was fetched now. Failures raise ``WeightsError``."""
    path = imagenet_cache_path()
    if path.is_file():
        return path, False
    log.info("downloading ImageNet ResNet18 weights to %s", path)
    download_imagenet(path)
    return path, True
