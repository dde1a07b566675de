"""``resunet-gui export FOLDER --format F --out DIR``: write a labelled dataset.

The project is opened read-only (nothing is written into it, and a running app's lock is
no obstacle); progress goes to stderr, the summary to stdout.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from resunet_gui.cli.progress import ProgressBar

FORMAT_NAMES = ("coco", "yolo", "voc", "png", "nifti", "labelme")


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    p = subparsers.add_parser(
        name, help="export a labelled dataset (COCO, YOLO, VOC, PNG, NIfTI, labelme)",
        description="Export the images of FOLDER with their masks as a training dataset, with a "
                    "reproducible train/val/test split and a manifest.json.")
    p.add_argument("folder", type=Path, help="project folder")
    p.add_argument("--format", required=True, choices=FORMAT_NAMES, help="output format")
    p.add_argument("--out", required=True, type=Path, help="target folder (must be empty or absent)")
    p.add_argument("--split", default="0.8,0.1,0.1",
                   help="train,val,test fractions, or 'project' to keep split.csv (default 0.8,0.1,0.1)")
    p.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    p.add_argument("--include", choices=("done", "all"), default="done",
                   help="export only images marked done (default) or every image with a mask")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty target folder")
    p.add_argument("--coco-mode", choices=("rle", "polygon"), default="rle",
                   help="COCO segmentation encoding (default rle: pixel exact)")
    p.add_argument("--unknown-values", choices=("fail", "ignore"), default="fail",
                   help="mask values that are not a class: stop with a message naming the image "
                        "and values (default), or export them as the ignore value")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from resunet_gui.core.project import Project
    from resunet_gui.export import ExportOptions, export_project
    from resunet_gui.export.split import parse_fractions

    fractions = None if args.split.strip().lower() == "project" else parse_fractions(args.split)
    options = ExportOptions(include=args.include, split=fractions, seed=args.seed,
                            overwrite=args.overwrite, coco_mode=args.coco_mode,
                            unknown_values=args.unknown_values)
    with Project.open(args.folder, read_only=True) as project:
        result = export_project(project, args.format, args.out, options,
                                progress=ProgressBar(f"export {args.format}"))
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    counts = ", ".join(f"{k} {v}" for k, v in result.split_counts.items())
    print(f"exported {result.images} images ({counts}) as {result.format} to {result.out} "
          f"in {result.seconds:.2f} s ({result.files} files, {result.bytes / 2**20:.1f} MiB)")
    return 0
