"""``resunet-gui export FOLDER --format F --out DIR``: write a labelled dataset.

The project is opened read-only (nothing is written into it, and a running app's lock is
no obstacle); progress goes to stderr, the summary to stdout.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from resunet_gui.cli.progress import ProgressBar
from resunet_gui.cli.recover_option import add_recover_flag, recover_if_asked
from resunet_gui.core.errors import ExportError

FORMAT_NAMES = ("coco", "yolo", "voc", "png", "nifti", "labelme", "dicom_seg")


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    p = subparsers.add_parser(
        name, help="export a labelled dataset (COCO, YOLO, VOC, PNG, NIfTI, labelme)",
        description="Export the images of FOLDER with their masks as a training dataset, with a "
                    "reproducible train/val/test split and a manifest.json.")
    p.add_argument("folder", type=Path, help="project folder")
    p.add_argument("--format", required=True, choices=FORMAT_NAMES, type=str.lower,
                   help="output format (any letter case)")
    p.add_argument("--out", required=True, type=Path, help="target folder: absent, empty, or a previous export (with --overwrite)")
    p.add_argument("--split", default="0.8,0.1,0.1", type=split_arg,
                   help="train,val,test fractions, or 'project' to keep split.csv (default 0.8,0.1,0.1)")
    p.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    p.add_argument("--include", choices=("done", "all"), default="done",
                   help="export only images marked done (default) or every image with a mask")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a previous export in --out (only a folder holding a resunet-gui "
                        "manifest.json and nothing else is replaced)")
    p.add_argument("--coco-mode", choices=("rle", "polygon"), default="rle",
                   help="COCO segmentation encoding (default rle: pixel exact)")
    p.add_argument("--skip-bad", action="store_true",
                   help="leave unreadable or invalid images/masks out (listed in manifest.json) "
                        "instead of stopping with the list")
    p.add_argument("--follow-symlinks", action="store_true",
                   help="export images whose symlink leads outside the project folder (left out by default)")
    p.add_argument("--voc-jpeg", action="store_true",
                   help="VOC: write every image as JPEGImages/<id>.jpg for torchvision's VOCSegmentation, "
                        "re-encoding non-JPEG sources (lossy; recorded in manifest.json)")
    p.add_argument("--simplify", type=float, default=0.5, metavar="PX",
                   help="YOLO/labelme polygon tolerance (Douglas-Peucker epsilon, pixels; default 0.5, 0 = exact)")
    p.add_argument("--max-points", type=int, default=1000, metavar="N",
                   help="YOLO: at most N points per line (default 1000)")
    p.add_argument("--unknown-values", choices=("fail", "ignore"), default="fail",
                   help="mask values that are not a class: stop with a message naming the image "
                        "and values (default), or export them as the ignore value")
    add_recover_flag(p)
    p.set_defaults(func=run)


def split_arg(text: str) -> tuple[float, float, float] | None:
    """``--split`` value: None keeps split.csv; a bad value is a usage error (exit 2)."""
    from resunet_gui.export.split import parse_fractions

    if text.strip().lower() == "project":
        return None
    try:
        return parse_fractions(text)
    except ExportError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _name_overwrite(exc: ExportError, overwrite: bool) -> ExportError:
    """The pipeline's "not empty" message, told in this command's terms (--overwrite)."""
    text = str(exc)
    if overwrite or "not empty" not in text or "--overwrite" in text:
        return exc
    return ExportError(f"{text.rstrip('.')} (pass --overwrite to replace a previous export)")


class _LazyBar:
    """A ProgressBar started at its first update, so its clock and ETA cover its own phase."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: ProgressBar | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = ProgressBar(self.label)
        self.bar(done, total)


def run(args: argparse.Namespace) -> int:
    from resunet_gui.core.project import Project
    from resunet_gui.export import ExportOptions, export_project

    options = ExportOptions(include=args.include, split=args.split, seed=args.seed,
                            overwrite=args.overwrite, coco_mode=args.coco_mode,
                            simplify_px=max(0.0, args.simplify), max_points=max(3, args.max_points),
                            voc_jpeg=args.voc_jpeg, skip_bad=args.skip_bad,
                            follow_symlinks=args.follow_symlinks, unknown_values=args.unknown_values)
    recover_if_asked(args, args.folder)
    with Project.open(args.folder, read_only=True) as project:
        try:
            result = export_project(project, args.format, args.out, options,
                                    progress=_LazyBar(f"export {args.format}"),
                                    check_progress=_LazyBar("check files"))
        except ExportError as exc:
            raise _name_overwrite(exc, args.overwrite) from None
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    counts = ", ".join(f"{k} {v}" for k, v in result.split_counts.items())
    print(f"exported {result.images} images ({counts}) as {result.format} to {result.out} "
          f"in {result.seconds:.2f} s ({result.files} files, {result.bytes / 2**20:.1f} MiB)")
    return 0
