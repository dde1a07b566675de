"""Turn a user's device choice (``auto|cpu|cuda|cuda:N|mps``) into a ``torch.device``."""
from __future__ import annotations

import torch

from resunet_gui.core.errors import ResunetError


class DeviceError(ResunetError):
    """The requested compute device does not exist on this machine."""


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """Devices usable here, best first (``cpu`` always last)."""
    devices = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if _mps_available():
        devices.append("mps")
    return [*devices, "cpu"]


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; an explicit choice that is missing raises."""
    if isinstance(spec, torch.device):
        spec = str(spec)
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        return torch.device(available_devices()[0])
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "mps":
        if not _mps_available():
            raise DeviceError("device 'mps' requested but Apple Metal is not available here")
        return torch.device("mps")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device {spec!r} requested but CUDA is not available "
                              f"(torch {torch.__version__}); use --device cpu")
        index = 0
        if ":" in spec:
            try:
                index = int(spec.split(":", 1)[1])
            except ValueError as exc:
                raise DeviceError(f"bad device {spec!r}; expected cuda:N") from exc
        count = torch.cuda.device_count()
        if not 0 <= index < count:
            raise DeviceError(f"device {spec!r} requested but only {count} CUDA device(s) exist")
        return torch.device("cuda", index)
    raise DeviceError(f"unknown device {spec!r}; expected auto, cpu, cuda, cuda:N or mps")
