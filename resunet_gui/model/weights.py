"""Pretrained encoder weights: torchvision's ImageNet ResNet18 or a local file, checked by sha256.

Every failure (offline, wrong checksum, corrupt or foreign file) becomes one logged warning and
a ``WeightsReport(loaded=False)``; the model keeps its random initialisation. ``.pth`` files are
read with ``torch.load(weights_only=True)``, which refuses arbitrary pickled objects.
"""
from __future__ import annotations

import logging
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from resunet_gui.core.errors import WeightsError
from resunet_gui.core.storage import file_sha256
from resunet_gui.model.encoder import ResNet18Encoder
from resunet_gui.model.state_check import state_mismatch

log = logging.getLogger(__name__)

IMAGENET_URL = "https://download.pytorch.org/models/resnet18-f37072fd.pth"
IMAGENET_FILE = "resnet18-f37072fd.pth"
KNOWN_SHA256: dict[str, str] = {
    IMAGENET_FILE: "f37072fd47e89c5e827621c5baffa7500819f7896bbacec160b1a16c560e07ec",
}
_IGNORED_PREFIXES = ("fc.",)
_STRIPPED_PREFIXES = ("module.", "encoder.")


@dataclass
class WeightsReport:
    """What ``load_encoder_weights`` did; ``message`` is fit to show a user."""

    loaded: bool
    source: str
    message: str
    sha256: str | None = None
    path: str | None = None


def imagenet_cache_path() -> Path:
    """Where torchvision keeps the ImageNet ResNet18 file (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / IMAGENET_FILE


def verify_sha256(path: Path, expected: str) -> str:
    """Return the file's sha256, raising ``WeightsError`` when it differs from ``expected``."""
    actual = file_sha256(path)
    if actual.lower() != expected.strip().lower():
        raise WeightsError(
            f"checksum mismatch for {path.name}: expected sha256 {expected[:12]}..., "
            f"got {actual[:12]}... (file is corrupt or not the expected weights)"
        )
    return actual


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.safetensors`` or ``.pth`` file, never unpickling arbitrary objects."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise WeightsError(f"weights file not found: {path}") from exc
    except Exception as exc:  # corrupt files raise many kinds; all mean "unreadable"
        raise WeightsError(f"cannot read weights file {path.name}: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path.name} does not contain a plain tensor state dict")
    return state


def _adapt_first_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """RGB filters -> ``in_channels`` filters with the same response to a grey image."""
    if weight.shape[1] == in_channels:
        return weight
    if in_channels == 1:
        return weight.sum(dim=1, keepdim=True)
    idx = torch.arange(in_channels) % weight.shape[1]
    return weight[:, idx] * (weight.shape[1] / in_channels)


def match_encoder_state(state: dict[str, torch.Tensor], encoder: ResNet18Encoder) -> dict[str, torch.Tensor]:
    """Rename/adapt a ResNet18 state dict to ``encoder``; ``WeightsError`` if it does not fit."""
    cleaned: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        for prefix in _STRIPPED_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        if key.startswith(_IGNORED_PREFIXES):
            continue
        cleaned[key] = value
    if "conv1.weight" in cleaned:
        cleaned["conv1.weight"] = _adapt_first_conv(cleaned["conv1.weight"], encoder.in_channels)
    problem = state_mismatch(encoder.state_dict(), cleaned, noun="keys")
    if problem is not None:
        raise WeightsError(f"weights do not fit ResNet18: {problem}")
    return cleaned


def download_imagenet(dest: Path, timeout: float = 30.0) -> None:
    """Fetch the torchvision file into ``dest`` atomically (temp file + rename)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".download-", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(IMAGENET_URL, timeout=timeout) as r:
            for block in iter(lambda: r.read(1 << 20), b""):
                out.write(block)
        verify_sha256(Path(tmp), KNOWN_SHA256[IMAGENET_FILE])
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise WeightsError(f"cannot download ImageNet weights ({exc}); are you offline?") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _locate(source: str, sha256: str | None) -> tuple[Path, str | None]:
    if source == "imagenet":
        path = imagenet_cache_path()
        if not path.is_file():
            raise WeightsError(f"ImageNet weights not in cache ({path}); run "
                               "`resunet-gui doctor --download-weights` once online")
        return path, KNOWN_SHA256[IMAGENET_FILE]
    path = Path(source).expanduser()
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    return path, sha256 or KNOWN_SHA256.get(path.name)


def load_encoder_weights(
    model: nn.Module, source: str = "imagenet", sha256: str | None = None
) -> WeightsReport:
    """Load ResNet18 weights into ``model.encoder`` (or ``model`` itself if it is the encoder).

    ``source`` is ``"imagenet"`` (the cached file only: this never downloads), ``"none"`` or a
    path to a ``.pth``/``.safetensors`` file. Files are checked against ``sha256`` (or the
    known checksum for torchvision's file name).
    """
    encoder = getattr(model, "encoder", model)
    if not isinstance(encoder, ResNet18Encoder):
        raise TypeError(f"expected a ResUNet or a ResNet18Encoder, got {type(model).__name__}")
    if source in ("none", "", "random"):
        return WeightsReport(False, "none", "encoder randomly initialised (no pretrained weights)")
    try:
        path, expected = _locate(source, sha256)
        digest = verify_sha256(path, expected) if expected else file_sha256(path)
        state = match_encoder_state(read_state_dict(path), encoder)
        encoder.load_state_dict(state, strict=True)
    except WeightsError as exc:
        message = f"pretrained weights not loaded, using random init: {exc}"
        log.warning(message)
        return WeightsReport(False, source, message)
    checked = "sha256 verified" if expected else "sha256 not checked (none given)"
    return WeightsReport(True, source, f"loaded encoder weights from {path.name} ({checked})",
                         sha256=digest, path=str(path))
