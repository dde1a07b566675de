"""``resunet-gui doctor``: what this installation runs on, for bug reports and set-up checks.

Versions come from package metadata (PySide6 is not imported: the check must work where Qt
cannot start); torch is imported to list devices.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import sys
from importlib import metadata

PACKAGES = ("torch", "torchvision", "PySide6-Essentials", "PySide6", "numpy",
            "opencv-python-headless", "safetensors", "tifffile", "segmentation-models-pytorch")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    p = subparsers.add_parser(name, help="print versions, devices and weights availability")
    p.add_argument("--download-weights", action="store_true",
                   help="fetch torchvision's ImageNet ResNet18 weights into the torch cache "
                        "(the app itself never downloads; it uses the cached file when present)")
    p.set_defaults(func=run)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def runtime_dependencies() -> list[str]:
    """Every runtime dependency the installed package declares (extras left out); torch and
    PySide6-Essentials when the package metadata is not there (a source checkout)."""
    try:
        requires = metadata.requires("resunet-gui") or []
    except metadata.PackageNotFoundError:
        requires = []
    names = [m.group(1) for r in requires if "extra ==" not in r and (m := _NAME.match(r))]
    return names or ["torch", "PySide6-Essentials"]


def _devices() -> list[str]:
    import torch

    lines = [f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"torch uses {torch.get_num_threads()} threads"]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            free, total = torch.cuda.mem_get_info(i)
            lines.append(f"cuda:{i}: {props.name}, {total / 2**30:.1f} GiB total, "
                         f"{free / 2**30:.1f} GiB free, capability {props.major}.{props.minor}, "
                         f"bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no'}")
    else:
        build = torch.version.cuda
        lines.append("cuda: not available" + (f" (torch built for CUDA {build}; no GPU or driver)"
                                              if build else " (CPU-only torch build)"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        lines.append("mps: available")
    return lines


def _download() -> None:
    """Fetch the weights once, verified by sha256; a failure is a one-line WeightsError."""
    from resunet_gui.engine.bootstrap import download_imagenet_weights, imagenet_cache_path

    path = imagenet_cache_path()
    if path.is_file():
        print(f"ImageNet ResNet18 weights already cached at {path}")
        return
    print(f"downloading ImageNet ResNet18 weights to {path} ...", file=sys.stderr)
    download_imagenet_weights()


def run(args: argparse.Namespace) -> int:
    from resunet_gui import __version__

    if getattr(args, "download_weights", False):
        _download()
    print(f"resunet-gui {__version__}")
    print(f"python {platform.python_version()} ({sys.executable}) on {platform.platform()}")
    from resunet_gui.core.logs import log_path

    required = runtime_dependencies()
    for dist in dict.fromkeys([*required, *PACKAGES]):  # optional ones only when installed
        version = _version(dist)
        if version is not None or dist in required:
            print(f"  {dist}: {version or 'not installed'}")
    print(f"log file: {log_path()}")
    for line in _devices():
        print(f"device {line}")
    print(f"QT_QPA_PLATFORM: {os.environ.get('QT_QPA_PLATFORM', '(unset)')}")
    from resunet_gui.engine.bootstrap import weights_cache_line

    print(f"ImageNet ResNet18 weights: {weights_cache_line()}")
    return 0
