"""``resunet-gui eval FOLDER --checkpoint C [--split test]``: Dice and IoU as JSON."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from resunet_gui.cli.recover_option import add_recover_flag, recover_if_asked


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    p = subparsers.add_parser(name, help="score a checkpoint on a folder's masks (JSON)",
                              description=__doc__)
    p.add_argument("folder", type=Path, help="project folder with masks")
    p.add_argument("--checkpoint", type=Path, required=True, help="model checkpoint (.safetensors)")
    p.add_argument("--split", default="test",
                   help="split.csv split to score (default test); 'all' for every mask")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda[:N] or mps")
    p.add_argument("--tile", type=int, default=1024, help="tile side for large images (%(default)s)")
    add_recover_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from resunet_gui.core.errors import ResunetError
    from resunet_gui.core.project import Project
    from resunet_gui.engine.bootstrap import bootstrap_model
    from resunet_gui.engine.dataset import labelled_stems, load_samples
    from resunet_gui.engine.predictor import Predictor
    from resunet_gui.engine.versions import evaluate

    setup = bootstrap_model(checkpoint=args.checkpoint, device=args.device)
    meta = setup.meta
    assert meta is not None  # started from a checkpoint
    recover_if_asked(args, args.folder)
    with Project.open(args.folder, read_only=True) as project:
        split = None if args.split == "all" else args.split
        stems = labelled_stems(project, split)
        if not stems:
            raise ResunetError(f"no images with masks in split {args.split!r} of {args.folder}")
        skipped: list[str] = []
        samples = load_samples(project, stems, skipped)
    for warning in skipped:
        print(f"warning: {warning}", file=sys.stderr)
    if not samples:
        raise ResunetError(f"no usable images with masks in split {args.split!r}")
    pred = Predictor(setup.model, setup.normalization, setup.device, tile=args.tile)
    scores = evaluate(lambda im: pred.predict(im).mask,
                      [(s.image.astype("float32"), s.mask) for s in samples], meta.num_classes)
    names = [c["name"] for c in sorted(meta.classes, key=lambda c: c["id"])]
    out = {"checkpoint": str(args.checkpoint), "model_version": meta.model_version,
           "split": args.split, **scores.to_dict(names if len(names) == meta.num_classes
                                                 else None)}
    print(json.dumps(out, indent=2))
    return 0
