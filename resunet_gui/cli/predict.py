"""``resunet-gui predict FOLDER``: write a predicted mask PNG for every image of a folder.

Masks are uint8 class indices named ``<out>/<stem>.png`` (the ``masks/`` layout). Unreadable
images are reported and skipped; the exit status is 1 when any was skipped.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from resunet_gui.core.errors import ResunetError

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    p = subparsers.add_parser(name, help="predict masks for every image of a folder",
                              description=__doc__)
    p.add_argument("folder", type=Path, help="folder of images (its images/ subfolder if present)")
    p.add_argument("--checkpoint", type=Path,
                   help="model checkpoint (.safetensors); default: the folder's current model "
                        "version (.resunet/models)")
    p.add_argument("--out", type=Path, help="where to write masks (default FOLDER/predictions)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda[:N] or mps")
    p.add_argument("--tile", type=int, default=1024, help="tile side for large images")
    p.add_argument("--classes", type=int, default=2,
                   help="classes of the random model used when there is no model at all")
    p.set_defaults(func=run)


def image_files(folder: Path) -> tuple[Path, dict[Path, str]]:
    """The folder holding the images (``images/`` when present) and its image files, each
    with the name of its mask (a slice of a stack: ``<file>_z0003``, as in the app).

    Listed by the project's own scan, so duplicate stems (``a.png`` + ``a.jpg``, which would
    write the same mask) are skipped and reported exactly as the app does.
    """
    from resunet_gui.core.image_scan import scan_images

    if not folder.is_dir():
        raise ResunetError(f"not a folder: {folder}")
    src = folder / "images" if (folder / "images").is_dir() else folder
    found, warnings = scan_images(src, recursive=False, skip=set())
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not found:
        raise ResunetError(f"no images found in {src}")
    return src, {src / rel: stem for stem, rel in sorted(found.items())}


def _out_dir(folder: Path, src: Path, out: Path | None) -> Path:
    out = out or folder / "predictions"
    resolved = out.resolve()
    if resolved == src.resolve():
        raise ResunetError(f"--out {out} is the image folder; masks would replace images")
    if resolved == (folder / "masks").resolve() and any((folder / "masks").glob("*.png")):
        raise ResunetError(f"--out {out} holds annotations that predictions would overwrite; "
                           "choose another folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResunetError(f"cannot create output folder {out}: {exc.strerror or exc}") from exc
    return out


def _unique_stems(files: dict[Path, str]) -> tuple[list[Path], list[str]]:
    """Files with a mask name of their own, and why the others are skipped (decided before
    the files are shared out, so every torchrun rank agrees)."""
    unique: list[Path] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for path, name in files.items():
        if name in seen:
            skipped.append(f"{path.name}: another image has the same name stem")
        else:
            seen.add(name)
            unique.append(path)
    return unique, skipped


def run(args: argparse.Namespace) -> int:
    from resunet_gui.cli.progress import ProgressBar
    from resunet_gui.core.project import STATE_DIR
    from resunet_gui.engine.folder_predict import PredictRequest, predict_folder

    if args.tile < 32:
        raise ResunetError(f"--tile must be at least 32 pixels, got {args.tile}")
    folder = Path(args.folder)
    src, files = image_files(folder)
    out = _out_dir(folder, src, args.out)
    unique, duplicates = _unique_stems(files)
    request = PredictRequest(unique, out, models_dir=folder / STATE_DIR / "models",
                             checkpoint=args.checkpoint, device=args.device, tile=args.tile,
                             classes=args.classes, names={p: files[p] for p in unique})
    report = predict_folder(request, ProgressBar("predict"))
    skipped = (duplicates if report.is_main else []) + report.skipped
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    total_skipped = report.skipped_total + len(duplicates)
    if report.is_main:
        ranks = f" ({report.world_size} processes)" if report.world_size > 1 else ""
        print(f"wrote {report.written} masks to {out} on {report.device}{ranks} "
              f"with {report.model}"
              + (f"; {total_skipped} images skipped" if total_skipped else ""), file=sys.stderr)
    return 1 if total_skipped else 0
