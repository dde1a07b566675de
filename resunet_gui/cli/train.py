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
import time
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
                   help="encoder init when no --checkpoint: imagenet (from cache), none, or a file")
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
    import torch

    from resunet_gui.core.errors import ResunetError
    from resunet_gui.core.project import Project
    from resunet_gui.core.types import Normalization
    from resunet_gui.engine import distributed as D
    from resunet_gui.engine.dataset import CropDataset, labelled_stems, load_samples
    from resunet_gui.engine.device import resolve_device
    from resunet_gui.engine.predictor import Predictor
    from resunet_gui.engine.project_engine import num_classes_of
    from resunet_gui.engine.trainer import Trainer, default_mode
    from resunet_gui.engine.versions import VersionStore, evaluate
    from resunet_gui.model.checkpoint import CheckpointMeta, load_checkpoint, save_checkpoint
    from resunet_gui.model.resunet import ResUNet
    from resunet_gui.model.weights import load_encoder_weights

    ctx, device = D.init_distributed(resolve_device(args.device))
    try:
        torch.manual_seed(args.seed)  # same init on every rank (DDP also broadcasts it)
        recover_if_asked(args, args.folder)
        project = Project.open(args.folder, read_only=True)
        stems = [s for s in labelled_stems(project)
                 if (project.split_of(s) or "train") not in ("val", "test")]
        val = labelled_stems(project, "val")
        if not stems:
            raise ResunetError(f"no training images with masks in {args.folder}")
        num_classes = num_classes_of(project)
        if args.checkpoint:
            model, meta = load_checkpoint(args.checkpoint)
            if meta.num_classes != num_classes:
                raise ResunetError(f"{args.checkpoint.name} has {meta.num_classes} classes, "
                                   f"the folder {num_classes}")
            norm, pretrained = meta.normalization, bool(
                (meta.training or {}).get("pretrained_encoder", False))
            init = f"checkpoint {args.checkpoint.name}"
        else:
            model, norm = ResUNet(num_classes), Normalization()
            report = load_encoder_weights(model, args.weights, download=False)
            pretrained, init = report.loaded, report.message
        mode, reason = default_mode(pretrained)
        if args.mode:
            mode, reason = args.mode, "chosen on the command line"
        cfg = TrainConfig(mode=mode, lr=args.lr, batch_size=args.batch_size, crop=args.crop,
                          class_balance=args.class_balance, seed=args.seed + ctx.rank)
        skipped: list[str] = []  # masks of another size, unreadable files: skipped, not fatal
        samples = load_samples(project, stems, skipped)
        for warning in skipped if ctx.is_main else ():
            print(f"warning: {warning}", file=sys.stderr)
        if not samples:
            raise ResunetError(f"no usable training images in {args.folder}")
        data = CropDataset(samples, cfg.augment, seed=args.seed + ctx.rank)
        trainer = Trainer(model, cfg, device, norm, data)
        trainer.forward_model = D.wrap_model(trainer.model, ctx, device)
        per_epoch = max(1, trainer.steps_per_epoch() // ctx.world_size)
        if args.steps:
            total = args.steps
        elif args.epochs:
            total = max(1, round(args.epochs * per_epoch))
        else:
            total = None if args.time_budget else 20 * per_epoch
        if ctx.is_main:
            log.info("training %d images (%s), mode %s (%s), %s, %d process(es)",
                     len(stems), init, mode, reason, device, ctx.world_size)
        t0 = time.monotonic()
        loss = float("nan")
        while True:
            if total is not None and trainer.step_count >= total:
                break
            out = args.time_budget is not None and time.monotonic() - t0 >= args.time_budget
            if D.any_rank(out, ctx):
                break
            rep = trainer.run_chunk(1)
            loss = D.all_mean(rep.loss, ctx)
            if ctx.is_main and trainer.step_count % per_epoch == 0:
                log.info("step %d  epoch %.1f  loss %.4f", trainer.step_count,
                         trainer.step_count / per_epoch, loss)
        summary = {"steps": trainer.step_count, "world_size": ctx.world_size,
                   "seconds": round(time.monotonic() - t0, 1), "loss": round(loss, 5),
                   "mode": mode, "train_images": len(samples), "device": str(device)}
        if ctx.is_main:
            final = trainer.candidate  # the weight average when there is one
            trainer.recalibrate_bn(model=final)
            if val:
                pairs = [(s.image.astype("float32"), s.mask)
                         for s in load_samples(project, val, skipped)]
                pred = Predictor(final, norm, device)
                scores = evaluate(lambda im: pred.predict(im).mask, pairs, num_classes)
                summary["val"] = scores.to_dict([c.name for c in project.classes]
                                                if len(project.classes) == num_classes else None)
            training = {"source": "cli-train", "step": trainer.step_count, "mode": mode,
                        "train_images": len(samples), "check_images": len(val),
                        "pretrained_encoder": pretrained, "world_size": ctx.world_size}
            if "val" in summary:
                training["metrics"] = summary["val"]
            meta = CheckpointMeta(classes=[{"id": c.id, "name": c.name, "color": list(c.color)}
                                           for c in project.classes],
                                  normalization=norm, in_channels=trainer.model.in_channels,
                                  num_classes=num_classes, training=training)
            if args.out:
                meta.model_version = "v001"
                path = save_checkpoint(args.out, final, meta)
            else:
                store = VersionStore(project.models_dir)
                info = store.save(final, meta)
                store.set_current(info.name)
                path = info.path
            summary["checkpoint"] = str(path)
            print(json.dumps(summary, indent=2))
        D.barrier(ctx)
        project.close()
    finally:
        D.shutdown(ctx)
    return 0
