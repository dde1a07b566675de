"""Headless training on a folder's masks (``resunet-gui train``), in one process or under
``torchrun`` (DistributedDataParallel, gloo on CPU, nccl on GPU; rank 0 scores and saves).

The model comes from the one bootstrap, like the app's; the result is the weight average
after BatchNorm re-estimation, scored on the ``val`` split when there is one.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from resunet_gui.core.errors import ResunetError
from resunet_gui.core.project import Project
from resunet_gui.engine import distributed as D
from resunet_gui.engine.bootstrap import (
    ModelSetup,
    bootstrap_model,
    checkpoint_meta,
    num_classes_of,
    save_model,
)
from resunet_gui.engine.dataset import CropDataset, labelled_stems, load_samples
from resunet_gui.engine.device import resolve_device
from resunet_gui.engine.predictor import Predictor
from resunet_gui.engine.settings import TrainConfig
from resunet_gui.engine.trainer import Trainer
from resunet_gui.engine.versions import evaluate

log = logging.getLogger(__name__)


@dataclass
class TrainRequest:
    folder: Path
    steps: int | None = None  # stop after N optimiser steps, or
    epochs: float | None = None  # after N epoch-equivalents of crops, or
    time_budget: float | None = None  # after S seconds (default: 20 epochs)
    mode: str | None = None  # None: decoder with a pretrained encoder, else all
    checkpoint: Path | None = None
    weights: str = "imagenet"
    out: Path | None = None  # None: the next version in .resunet/models
    device: str = "auto"
    config: TrainConfig | None = None  # lr, batch size, crop, class balance, seed


@dataclass
class _Run:
    project: Project
    setup: ModelSetup
    trainer: Trainer
    stems: list[str]
    val: list[str]
    num_classes: int
    ctx: D.DistContext
    skipped: list[str]  # why images were left out, for the summary


def _start(req: TrainRequest, project: Project, ctx: D.DistContext,
           device: torch.device) -> _Run:
    stems = [s for s in labelled_stems(project)
             if (project.split_of(s) or "train") not in ("val", "test")]
    if not stems:
        raise ResunetError(f"no training images with masks in {req.folder}")
    num_classes = num_classes_of(project)
    base = req.config or TrainConfig()
    torch.manual_seed(base.seed)  # same init on every rank (DDP also broadcasts it)
    setup = bootstrap_model(num_classes, checkpoint=req.checkpoint, weights=req.weights,
                            device=device, mode=req.mode)
    cfg = TrainConfig(mode=setup.mode, lr=base.lr, batch_size=base.batch_size, crop=base.crop,
                      class_balance=base.class_balance, seed=base.seed + ctx.rank)
    skipped: list[str] = []  # masks of another size, unreadable files: skipped, not fatal
    samples = load_samples(project, stems, skipped)
    if not samples:
        raise ResunetError(f"no usable training images in {req.folder}: " + "; ".join(skipped))
    data = CropDataset(samples, cfg.augment, seed=base.seed + ctx.rank)
    trainer = Trainer(setup.model, cfg, device, setup.normalization, data)
    trainer.forward_model = D.wrap_model(trainer.model, ctx, device)
    if ctx.is_main:
        log.info("training %d images (%s), mode %s (%s), %s, %d process(es)", len(stems),
                 setup.init, setup.mode, setup.mode_reason, device, ctx.world_size)
    return _Run(project, setup, trainer, stems, labelled_stems(project, "val"), num_classes, ctx,
                skipped)


def _train(req: TrainRequest, run: _Run) -> tuple[float, float]:
    """Step until the request's limit; returns (mean loss of the last step, seconds)."""
    trainer, ctx = run.trainer, run.ctx
    per_epoch = max(1, trainer.steps_per_epoch() // ctx.world_size)
    if req.steps:
        total: int | None = req.steps
    elif req.epochs:
        total = max(1, round(req.epochs * per_epoch))
    else:
        total = None if req.time_budget else 20 * per_epoch
    t0, loss = time.monotonic(), float("nan")
    while total is None or trainer.step_count < total:
        out = req.time_budget is not None and time.monotonic() - t0 >= req.time_budget
        if D.any_rank(out, ctx):
            break
        loss = D.all_mean(trainer.run_chunk(1).loss, ctx)
        if ctx.is_main and trainer.step_count % per_epoch == 0:
            log.info("step %d  epoch %.1f  loss %.4f", trainer.step_count,
                     trainer.step_count / per_epoch, loss)
    return loss, time.monotonic() - t0


def _finish(req: TrainRequest, run: _Run, summary: dict[str, Any]) -> None:
    """Rank 0: re-estimate BN, score on val, save; the summary gains val and checkpoint."""
    project, trainer, setup = run.project, run.trainer, run.setup
    final = trainer.candidate  # the weight average when there is one
    trainer.recalibrate_bn(model=final)
    if run.val:
        pairs = [(s.image.astype("float32"), s.mask) for s in load_samples(project, run.val)]
        pred = Predictor(final, setup.normalization, trainer.device)
        scores = evaluate(lambda im: pred.predict(im).mask, pairs, run.num_classes)
        summary["val"] = scores.to_dict([c.name for c in project.classes]
                                        if len(project.classes) == run.num_classes else None)
    training = {"source": "cli-train", "step": trainer.step_count, "mode": setup.mode,
                "train_images": len(run.stems), "check_images": len(run.val),
                "pretrained_encoder": setup.pretrained, "world_size": run.ctx.world_size}
    if "val" in summary:
        training["metrics"] = summary["val"]
    meta = checkpoint_meta(setup, project.classes, run.num_classes, training)
    path = save_model(final, meta, out=req.out, models_dir=project.models_dir)
    summary["checkpoint"] = str(path)


def train_folder(req: TrainRequest) -> dict[str, Any] | None:
    """Train; returns the JSON summary on rank 0 (None on the other ranks)."""
    ctx, device = D.init_distributed(resolve_device(req.device))
    try:
        project = Project.open(req.folder, read_only=True)
        try:
            run = _start(req, project, ctx, device)
            loss, seconds = _train(req, run)
            summary: dict[str, Any] | None = None
            if ctx.is_main:
                summary = {"steps": run.trainer.step_count, "world_size": ctx.world_size,
                           "seconds": round(seconds, 1), "loss": round(loss, 5),
                           "mode": run.setup.mode, "train_images": len(run.stems),
                           "skipped": run.skipped,
                           "device": str(device)}
                _finish(req, run, summary)
            D.barrier(ctx)
        finally:
            project.close()
        return summary
    finally:
        D.shutdown(ctx)
