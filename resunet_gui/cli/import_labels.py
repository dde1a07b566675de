"""``resunet-gui import FOLDER --from FORMAT SOURCE``: bring existing labels into a project.

Masks go through the Project API (atomic writes, the project's lock); images that already
have a mask are skipped and each is reported on stderr unless ``--replace`` is given.
The summary goes to stdout; the exit status is 0 when nothing was skipped, 1 otherwise.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from resunet_gui.cli.progress import ProgressBar

FORMAT_NAMES = ("coco", "yolo", "labelme", "voc", "nifti", "png")


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    p = subparsers.add_parser(
        name, help="import existing labels (COCO, YOLO, labelme, VOC, NIfTI, PNG masks)",
        description="Write masks (and any new classes) into the project FOLDER from labels made "
                    "with another tool. Labels are matched to images by file name stem.")
    p.add_argument("folder", type=Path, help="project folder")
    p.add_argument("--from", dest="format", required=True, type=str.lower, choices=FORMAT_NAMES,
                   metavar="FORMAT", help=f"label format: {', '.join(FORMAT_NAMES)} (any case)")
    p.add_argument("source", type=Path, help="label file or folder to import from")
    p.add_argument("--replace", action="store_true",
                   help="replace masks that already exist (the old ones are kept in "
                        ".resunet/import-backup-*); by default such images are skipped")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from resunet_gui.core.project import Project
    from resunet_gui.label_import import import_labels
    from resunet_gui.label_import.registry import ALREADY_LABELLED

    with Project.open(args.folder) as project:
        result = import_labels(project, args.format, args.source, replace=args.replace,
                               progress=ProgressBar(f"import {args.format}"))
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if result.not_in_project:
        shown = ", ".join(result.not_in_project[:10])
        more = f" and {len(result.not_in_project) - 10} more" if len(result.not_in_project) > 10 else ""
        print(f"warning: {len(result.not_in_project)} labelled image(s) are not in the project, "
              f"not imported: {shown}{more}", file=sys.stderr)
    for stem, why in result.skipped:
        print(f"skipped {stem}: {why}", file=sys.stderr)
    if any(why == ALREADY_LABELLED for _, why in result.skipped):
        print("note: add --replace to replace existing masks (the old ones are kept in "
              ".resunet/import-backup-*)", file=sys.stderr)
    for c in result.added_classes:
        print(f"added class {c.id} {c.name!r}")
    state = " (cancelled)" if result.cancelled else ""
    print(f"imported {len(result.imported)} mask(s) from {result.format} {result.source}, "
          f"skipped {len(result.skipped)}{state} in {result.seconds:.2f} s")
    return 1 if result.skipped else 0
