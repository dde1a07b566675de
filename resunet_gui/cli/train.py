"""``resunet-gui train FOLDER``: headless training on the folder's masks.

Trains on images that have a mask and are not in split.csv's val/test; scores on val
when present. Also runs under ``torchrun --nproc_per_node=N`` (DistributedDataParallel,
gloo on CPU, nccl on GPU); rank 0 writes the checkpoint. Prints a JSON summary.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from resunet_gui.cli.recover_option import add_recover_flag, recover_if_asked
from resunet_gui.engine.settings import TrainConfig

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    p = subparsers.add_parser(name, help="train a model on a folder's masks (no GUI)",
                              description=__doc__)
    p.add_argument("folder", type=Path, help="project folder (images/ + masks/, or a plain folder)")
    stop = p.add_mutually_exclusive_group()
    stop.add_argument("--epochs", type=float, help="epoch-equivalents of random crops")
    stop.add_argument("--time-budget", type=float, metavar="S", help="stop after S seconds")
    stop.add_argument("--steps", type=int, help="stop after N optimiser steps")
    p.add_argument("--mode", choices=["decoder", "decoder+late", "all"],
                   help="default: decoder with a pretrained encoder, else all")
    p.add_argument("--checkpoint", type=Path, help="start from this checkpoint")
    p.add_argument("--weights", default="imagenet",
                   help="encoder init when no --checkpoint: imagenet (from the local cache; "
                        "`doctor --download-weights` fetches it), none, or a weights file")
    p.add_argument("--out", type=Path,
                   help="checkpoint to write (default: next version in .resunet/models)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda[:N] or mps")
    d = TrainConfig()
    p.add_argument("--batch-size", type=int, default=d.batch_size,
                   help="crops per optimiser step (%(default)s)")
    p.add_argument("--crop", type=int, default=d.crop,
                   help="side of the random training crops in pixels (%(default)s)")
    p.add_argument("--lr", type=float, default=d.lr, help="learning rate (%(default)s)")
    p.add_argument("--class-balance", type=float, default=d.class_balance,
                   help="cross-entropy weight per class = frequency ** -X (0 = plain CE)")
    p.add_argument("--seed", type=int, default=d.seed,
                   help="random seed for crops and init (%(default)s)")
    add_recover_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from resunet_gui.engine.folder_train import TrainRequest, train_folder

    recover_if_asked(args, args.folder)
    config = TrainConfig(lr=args.lr, batch_size=args.batch_size, crop=args.crop,
                         class_balance=args.class_balance, seed=args.seed)
    summary = train_folder(TrainRequest(
        args.folder, steps=args.steps, epochs=args.epochs, time_budget=args.time_budget,
        mode=args.mode, checkpoint=args.checkpoint, weights=args.weights, out=args.out,
        device=args.device, config=config))
    if summary is not None:  # rank 0
        for warning in summary.get("skipped", []):
            print(f"warning: {warning}", file=sys.stderr)
        print(json.dumps(summary, indent=2))
    return 0
